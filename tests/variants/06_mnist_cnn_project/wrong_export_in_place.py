"""Wrong: export_model switches the caller's model to eval mode (and to the CPU) and leaves it so."""

MUST_FAIL = ["test_export_leaves_model_unchanged"]
CELLS = {
    "export": '''def export_model(model, path):
    """Write the model's eval-mode function (raw images (N, 1, 28, 28) -> logits) to the ONNX file `path`."""
    model.cpu().eval()
    torch.onnx.export(model, (torch.rand(4, 1, 28, 28),), str(path), dynamo=True,
                      dynamic_shapes=({0: torch.export.Dim("batch")},))
''',
}
