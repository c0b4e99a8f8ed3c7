"""Wrong: fit_1d's hidden units are sigmoids (it still fits smooth functions, but it is not the
ReLU network asked for); width_for_budget forgets the biases of the hidden layers after the
first."""

MUST_FAIL = ["test_fit_1d_structure", "test_fit_1d_recipe", "test_width_for_budget_largest"]
EDITS = {
    "fit_1d": [("nn.ReLU()", "nn.Sigmoid()")],
    "width_for_budget": [("(depth - 1) * (w + 1) * w", "(depth - 1) * w * w")],
}
