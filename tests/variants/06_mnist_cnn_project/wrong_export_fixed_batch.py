"""Wrong: the ONNX export does not mark the batch dimension as dynamic, so the artifact only
accepts batches of the example's size."""

MUST_FAIL = ["test_export_matches_eager", "test_bundle_model_matches_mnist_model"]
CELLS = {
    "export": '''def export_model(model, path):
    """Write the model's eval-mode function (raw images (N, 1, 28, 28) -> logits) to the ONNX file `path`."""
    copy_for_export = copy.deepcopy(model).cpu().eval()
    torch.onnx.export(copy_for_export, (torch.rand(32, 1, 28, 28),), str(path), dynamo=False,
                      input_names=["images"], output_names=["logits"])
''',
}
