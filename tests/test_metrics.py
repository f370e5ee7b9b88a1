"""ssgan_lib.metrics: the Fréchet distance against float64 references, and the sample checks."""

import pytest
import torch

from ssgan_lib import metrics
from ssgan_lib.metrics import (MNISTFeatureNet, class_histogram, classify_accuracy, diversity, fid, frechet_distance,
                               nearest_neighbour_distances, roughness)


def _gaussian(n, mean, cov_root, seed):
    g = torch.Generator().manual_seed(seed)
    return mean + torch.randn(n, len(mean), generator=g, dtype=torch.float64) @ cov_root.T


def _sqrtm_ref(a):
    """Symmetric square root by eigendecomposition, float64 (no scipy)."""
    vals, vecs = torch.linalg.eigh(a.double())
    return vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T


def _frechet_ref(f1, f2):
    """The textbook formula with tr((S1 S2)^{1/2}) computed from the eigenvalues of S1 S2 (all real, >= 0)."""
    f1, f2 = f1.double(), f2.double()
    mu1, mu2 = f1.mean(0), f2.mean(0)
    c1 = (f1 - mu1).T @ (f1 - mu1) / (len(f1) - 1)
    c2 = (f2 - mu2).T @ (f2 - mu2) / (len(f2) - 1)
    eig = torch.linalg.eigvals(c1 @ c2).real.clamp_min(0)
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(c1) + torch.trace(c2) - 2 * eig.sqrt().sum())


def test_diagonal_gaussians_match_eigen_reference():
    # sample covariances are never exactly diagonal: compare with the reference formula on the same samples
    d = 6
    g = torch.Generator().manual_seed(1)
    a = _gaussian(400, torch.randn(d, generator=g, dtype=torch.float64), torch.diag(torch.rand(d, generator=g, dtype=torch.float64) + 0.2), 2)
    b = _gaussian(300, torch.randn(d, generator=g, dtype=torch.float64), torch.diag(torch.rand(d, generator=g, dtype=torch.float64) + 0.2), 3)
    assert frechet_distance(a, b) == pytest.approx(_frechet_ref(a, b), rel=1e-9, abs=1e-9)


def test_exactly_diagonal_sample_covariances_match_closed_form():
    # +-1 patterns whose columns are exactly uncorrelated (Hadamard rows): sample covariance is diagonal
    h = torch.tensor([[1.0]], dtype=torch.float64)
    for _ in range(3):
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)])
    cols = h[:, 1:4]  # 8 rows, 3 columns with mean 0 and orthogonal
    sd1, sd2 = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), torch.tensor([0.3, 2.0, 1.5], dtype=torch.float64)
    mu1, mu2 = torch.tensor([0.0, 1.0, -1.0], dtype=torch.float64), torch.tensor([2.0, 1.0, 0.0], dtype=torch.float64)
    scale = (7 / 8) ** 0.5  # unbiased covariance of the +-1 columns is 8/7
    a, b = mu1 + cols * sd1 * scale, mu2 + cols * sd2 * scale
    assert torch.allclose(torch.cov(a.T), torch.diag(sd1 ** 2))
    closed = float(((mu1 - mu2) ** 2).sum() + ((sd1 - sd2) ** 2).sum())
    assert frechet_distance(a, b) == pytest.approx(closed, rel=1e-10)


def test_closed_form_diagonal_population():
    # many samples from diagonal Gaussians: the estimate approaches the closed form
    mu1, mu2 = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64), torch.tensor([0.5, 1.0, 0.0], dtype=torch.float64)
    sd1, sd2 = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), torch.tensor([1.0, 0.5, 0.5], dtype=torch.float64)
    a = _gaussian(200_000, mu1, torch.diag(sd1), 4)
    b = _gaussian(200_000, mu2, torch.diag(sd2), 5)
    closed = float(((mu1 - mu2) ** 2).sum() + ((sd1 - sd2) ** 2).sum())
    assert frechet_distance(a, b) == pytest.approx(closed, rel=0.01)


def test_full_covariance_matches_eigen_reference():
    d = 10
    g = torch.Generator().manual_seed(6)
    r1 = torch.randn(d, d, generator=g, dtype=torch.float64)
    r2 = torch.randn(d, d, generator=g, dtype=torch.float64) * 0.5
    a = _gaussian(500, torch.zeros(d, dtype=torch.float64), r1, 7)
    b = _gaussian(700, torch.ones(d, dtype=torch.float64), r2, 8)
    assert frechet_distance(a, b) == pytest.approx(_frechet_ref(a, b), rel=1e-8)
    # symmetric in its arguments
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-8)
    # float32 input gives the float64 answer (computed in float64 inside)
    assert frechet_distance(a.float(), b.float()) == pytest.approx(_frechet_ref(a.float(), b.float()), rel=1e-6)


def test_symmetric_sqrt_helper():
    g = torch.Generator().manual_seed(9)
    m = torch.randn(5, 5, generator=g, dtype=torch.float64)
    spd = m @ m.T + 0.1 * torch.eye(5, dtype=torch.float64)
    root = metrics._sqrtm_psd(spd)
    assert torch.allclose(root @ root, spd, atol=1e-10)
    assert torch.allclose(root, _sqrtm_ref(spd), atol=1e-10)


def test_one_dimensional_features():
    g = torch.Generator().manual_seed(10)
    a = torch.randn(100_000, 1, generator=g, dtype=torch.float64)
    b = 3 * torch.randn(100_000, 1, generator=g, dtype=torch.float64) + 2
    assert frechet_distance(a, b) == pytest.approx(4 + 4, rel=0.02)
    assert frechet_distance(a[:, 0], b[:, 0]) == pytest.approx(frechet_distance(a, b))  # plain vectors too


def test_identical_sets_give_zero():
    g = torch.Generator().manual_seed(11)
    a = torch.randn(300, 20, generator=g, dtype=torch.float64)
    assert abs(frechet_distance(a, a)) < 1e-8
    # rank-deficient covariance (fewer samples than dimensions) stays finite and ~0 against itself
    few = torch.randn(10, 50, generator=g, dtype=torch.float64)
    assert abs(frechet_distance(few, few)) < 1e-6 * float(torch.cov(few.T).trace())  # sqrt of ~0 eigenvalues


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_shift():
    torch.manual_seed(0)
    net = MNISTFeatureNet().eval()
    x = torch.rand(200, 784)
    assert abs(fid(net, x, x)) < 1e-6
    assert fid(net, x, (x + 0.3).clamp(0, 1)) > fid(net, x, (x + 0.05).clamp(0, 1)) > 0


def test_diversity():
    assert diversity(torch.ones(40, 784)) == 0.0
    assert diversity(torch.rand(1, 784)) == 0.0
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    assert diversity(x) == pytest.approx(5.0)
    # max_n keeps the first rows only
    y = torch.cat([torch.zeros(5, 2), torch.rand(5, 2)])
    assert diversity(y, max_n=5) == 0.0


def test_nearest_neighbour_finds_exact_copy():
    g = torch.Generator().manual_seed(12)
    train = torch.rand(12_000, 784, generator=g)  # more than one chunk of the search
    samples = torch.rand(30, 784, generator=g)
    samples[7] = train[9_876]
    samples[20] = train[3]
    d, i = nearest_neighbour_distances(samples, train)
    assert d.shape == (30,) and i.shape == (30,)
    assert int(i[7]) == 9_876 and int(i[20]) == 3
    assert float(d[7]) < 1e-2 and float(d[20]) < 1e-2
    others = torch.ones(30, dtype=torch.bool)
    others[[7, 20]] = False
    assert float(d[others].min()) > 5.0  # random images are far apart
    # the distance is the true minimum over the training rows
    ref = torch.cdist(samples[:3].double(), train.double()).min(dim=1)
    assert torch.allclose(d[:3].double(), ref.values, atol=1e-3)
    assert torch.equal(i[:3], ref.indices)


def test_class_histogram_counts_predictions():
    class ByPixel(torch.nn.Module):  # predicts the class written in pixel 0
        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, 0].long(), 10).float()

    x = torch.zeros(2_500, 784)  # more than one chunk of 1000 rows, the last one partial
    x[:625, 0] = 7
    x[625:1_250, 0] = 3
    x[2_000:, 0] = 3
    h = class_histogram(ByPixel(), x)
    assert h.shape == (10,)
    assert h.tolist() == pytest.approx([0.3, 0, 0, 0.45, 0, 0, 0, 0.25, 0, 0])  # fractions: they sum to 1


def test_classify_accuracy_accepts_tuples():
    class Tup(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, 0].long(), 10).float(), None

    x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    assert classify_accuracy(Tup(), x, torch.tensor([1, 2, 0, 4]), batch=3) == pytest.approx(0.75)


def test_train_feature_net_learns_something():
    # two easy "classes": dark vs bright images; a few steps suffice
    g = torch.Generator().manual_seed(13)
    x = torch.cat([torch.rand(200, 784, generator=g) * 0.2, 0.8 + torch.rand(200, 784, generator=g) * 0.2])
    y = torch.cat([torch.zeros(200, dtype=torch.long), torch.ones(200, dtype=torch.long)])
    net = train_feature_net_small(x, y)
    assert not net.training
    assert classify_accuracy(net, x, y) > 0.95
    assert metrics.features(net, x[:5]).dtype == torch.float64
    assert metrics.features(net, x[:5]).shape == (5, 128)
    # the learned features separate the classes: dark vs bright is far, dark vs dark is near
    assert fid(net, x[:100], x[200:300]) > 10 * fid(net, x[:100], x[100:200])


def train_feature_net_small(x, y):
    return metrics.train_feature_net(x, y, steps=30, batch=64, lr=1e-3, seed=0)


def test_train_feature_net_on_the_engine_equals_a_plain_loop():
    """The engine adds read-outs and the divergence check, nothing else: the same weights as the plain loop."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(5)
    x, y = torch.rand(64, 784, generator=g), torch.randint(10, (64,), generator=g)
    net = metrics.train_feature_net(x, y, steps=7, batch=16, seed=3)
    torch.manual_seed(3)
    ref = metrics.MNISTFeatureNet()
    opt, gen = torch.optim.Adam(ref.parameters(), lr=1e-3), torch.Generator().manual_seed(3)
    for _ in range(7):
        idx = torch.randint(64, (16,), generator=gen)
        loss = F.cross_entropy(ref(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    for (k, a), b in zip(net.state_dict().items(), ref.state_dict().values()):
        assert torch.equal(a, b), k


def test_train_feature_net_names_the_step_where_it_diverged():
    from ssgan_lib.engine import DivergenceError

    x, y = torch.full((32, 784), float("nan")), torch.zeros(32, dtype=torch.long)
    with pytest.raises(DivergenceError, match="step 1"):
        metrics.train_feature_net(x, y, steps=3, batch=8)


def test_roughness_flat_checkerboard_and_speckle(mnist):
    assert roughness(torch.full((3, 784), 0.7)) == 0.0
    board = ((torch.arange(28)[:, None] + torch.arange(28)[None, :]) % 2).float().reshape(1, 784)
    assert roughness(board) == pytest.approx(1.0)
    assert roughness(board.reshape(1, 1, 28, 28)) == pytest.approx(1.0)
    digits = mnist.train_x[:200].cpu()
    speckled = digits[:, torch.randperm(784, generator=torch.Generator().manual_seed(0))]  # same pixels, shuffled
    assert roughness(speckled) > 2 * roughness(digits)
