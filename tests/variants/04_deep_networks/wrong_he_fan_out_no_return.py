"""Wrong: init_he_ uses fan_out (weight.shape[0]) and init_uniform_ forgets to return the layer."""

MUST_FAIL = ["test_init_uniform", "test_init_he_scale", "test_init_he_distribution"]
EDITS = {
    "initialization": [
        (
            "            linear.bias.zero_()\n    return linear\n    ### END SOLUTION\n\n\ndef init_xavier_",
            "            linear.bias.zero_()\n    ### END SOLUTION\n\n\ndef init_xavier_",
        ),
        (
            "    fan_in = linear.weight.shape[1]\n",
            "    fan_in = linear.weight.shape[0]  # fan_out\n",
        ),
    ]
}
