"""Wrong: activation_stds lists the stds in model.modules() order, not in the order the layers run."""

MUST_FAIL = ["test_activation_stds_values"]
CELLS = {
    "activation_stds": '''def activation_stds(model, x):
    """Std of the output of every nn.Linear in `model` on input x, in the order the layers run."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    stds = {}
    handles = [m.register_forward_hook(lambda m, i, o: stds.__setitem__(m, o.std().item())) for m in linears]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return [stds[m] for m in linears]
''',
}
