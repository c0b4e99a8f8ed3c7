"""Wrong: model_metadata's interval is the textbook normal (Wald) interval, not Wilson's."""

MUST_FAIL = ["test_model_metadata_accuracy"]
CELLS = {
    "metadata": '''def model_metadata(model, val_data, heldout_data, seed):
    """Facts about a trained classifier, as a JSON-ready dict (see the table above)."""
    def measured(images, labels, z=1.96):
        accuracy, n = evaluate(model, images, labels), len(labels)
        half = z * math.sqrt(accuracy * (1 - accuracy) / n)
        return {"accuracy": accuracy, "n": n, "ci95": [max(accuracy - half, 0.0), min(accuracy + half, 1.0)]}

    cpu_model = copy.deepcopy(model).cpu().eval()

    def latency_ms(batch):
        x = torch.rand(batch, 1, 28, 28)
        with torch.no_grad():
            cpu_model(x)
            start = time.perf_counter()
            cpu_model(x)
        return 1000 * (time.perf_counter() - start)

    return {"input": {"shape": [1, 28, 28], "dtype": "float32", "range": [0.0, 1.0]},
            "normalisation": {"mean": MNIST_MEAN, "std": MNIST_STD},
            "class_names": [str(k) for k in range(10)],
            "n_parameters": sum(p.numel() for p in model.parameters()),
            "accuracy": {"validation": measured(*val_data), "heldout": measured(*heldout_data)},
            "latency_ms": {"batch_1": latency_ms(1), "batch_256": latency_ms(256)},
            "torch_version": torch.__version__, "seed": int(seed)}
''',
}
