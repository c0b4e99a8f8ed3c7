"""Wrong: train never resets the gradients, so every step uses the sum of all past gradients
(the exact-steps test sees it after two steps; on the blobs the growing steps blow up)."""

MUST_FAIL = ["test_train_takes_exact_steps", "test_train_separates_blobs"]
EDITS = {"training": [("        model.zero_grad()\n", "")]}
