"""Wrong: fit_1d always builds 100 hidden units, whatever `hidden` says."""

MUST_FAIL = [
    "test_fit_1d_structure",
    "test_fit_1d_recipe",
    "test_fit_1d_error_falls_with_width",
]
EDITS = {
    "fit_1d": [
        (
            "nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1)",
            "nn.Linear(1, 100), nn.ReLU(), nn.Linear(100, 1)",
        )
    ]
}
