"""Wrong: init_xavier_ draws from a normal distribution, and init_he_ replaces the weight with a
new nn.Parameter instead of changing it in place."""

MUST_FAIL = ["test_init_xavier_distribution", "test_init_he_scale", "test_init_he_distribution"]
EDITS = {
    "initialization": [
        (
            "    bound = math.sqrt(6.0 / (fan_in + fan_out))\n"
            "    with torch.no_grad():\n"
            "        linear.weight.uniform_(-bound, bound)\n",
            "    with torch.no_grad():\n"
            "        linear.weight.normal_(0.0, math.sqrt(2.0 / (fan_in + fan_out)))\n",
        ),
        (
            "    with torch.no_grad():\n        linear.weight.normal_(0.0, math.sqrt(2.0 / fan_in))\n",
            "    linear.weight = nn.Parameter(torch.randn(linear.weight.shape) * math.sqrt(2.0 / fan_in))\n"
            "    with torch.no_grad():\n",
        ),
    ]
}
