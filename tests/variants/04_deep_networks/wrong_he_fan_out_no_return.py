"""Wrong: init_he_ uses fan_out (weight.shape[0]) and init_uniform_ forgets to return the layer."""

MUST_FAIL = ["test_init_uniform", "test_init_he_scale", "test_init_he_distribution"]
CELLS = {
    "initialization": '''def init_uniform_(linear, a):
    """Weights ~ U(-a, a), bias 0, in place; returns the layer."""
    with torch.no_grad():
        linear.weight.uniform_(-a, a)
        if linear.bias is not None:
            linear.bias.zero_()


def init_xavier_(linear):
    """Xavier/Glorot uniform: std sqrt(2 / (fan_in + fan_out)), bias 0, in place; returns the layer."""
    fan_out, fan_in = linear.weight.shape
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        linear.weight.uniform_(-bound, bound)
        if linear.bias is not None:
            linear.bias.zero_()
    return linear


def init_he_(linear):
    """He/Kaiming normal: N(0, std = sqrt(2 / fan_in)), bias 0, in place; returns the layer."""
    fan = linear.weight.shape[0]
    with torch.no_grad():
        linear.weight.normal_(0.0, math.sqrt(2.0 / fan))
        if linear.bias is not None:
            linear.bias.zero_()
    return linear
''',
}
