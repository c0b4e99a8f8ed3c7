"""Wrong: init_xavier_ draws from a normal distribution, and init_he_ replaces the weight with a
new nn.Parameter instead of changing it in place."""

MUST_FAIL = ["test_init_xavier_distribution", "test_init_he_scale", "test_init_he_distribution"]
CELLS = {
    "initialization": '''def init_uniform_(linear, a):
    """Weights ~ U(-a, a), bias 0, in place; returns the layer."""
    with torch.no_grad():
        linear.weight.uniform_(-a, a)
        if linear.bias is not None:
            linear.bias.zero_()
    return linear


def init_xavier_(linear):
    """Xavier/Glorot uniform: std sqrt(2 / (fan_in + fan_out)), bias 0, in place; returns the layer."""
    fan_out, fan_in = linear.weight.shape
    with torch.no_grad():
        linear.weight.normal_(0.0, math.sqrt(2.0 / (fan_in + fan_out)))
        if linear.bias is not None:
            linear.bias.zero_()
    return linear


def init_he_(linear):
    """He/Kaiming normal: N(0, std = sqrt(2 / fan_in)), bias 0, in place; returns the layer."""
    fan_in = linear.weight.shape[1]
    linear.weight = nn.Parameter(torch.randn(linear.weight.shape) * math.sqrt(2.0 / fan_in))
    with torch.no_grad():
        if linear.bias is not None:
            linear.bias.zero_()
    return linear
''',
}
