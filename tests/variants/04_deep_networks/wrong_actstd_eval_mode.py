"""Wrong: activation_stds switches the model to eval mode (the exercise says run it as it is)."""

MUST_FAIL = ["test_activation_stds_leaves_model_unchanged"]
CELLS = {
    "activation_stds": '''def activation_stds(model, x):
    """Std of the output of every nn.Linear in `model` on input x, in the order the layers run."""
    stds = []

    def record(module, inputs, output):
        stds.append(output.std().item())

    handles = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, nn.Linear)]
    model.eval()
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return stds
''',
}
