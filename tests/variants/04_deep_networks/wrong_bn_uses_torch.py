"""Wrong: BatchNorm1d calls F.batch_norm (the exercise asks for batch norm by hand)."""

MUST_FAIL = ["test_bn_training_outputs", "test_bn_running_statistics", "test_bn_eval"]
CELLS = {
    "batch_norm": '''class BatchNorm1d(nn.Module):
    """Batch normalization of (N, C) inputs over the batch, with running statistics for evaluation."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)
''',
}
