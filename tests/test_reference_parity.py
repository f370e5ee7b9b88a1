"""The library's training step against a line-by-line transcription of the reference code.

``transcribed_step`` below is ``train_mnist_feature_matching.py`` + ``nn.py`` of github.com/openai/improved-gan
written out in plain PyTorch, one statement per Theano expression, with nothing shared with ``ssgan_lib`` but
the random draws: three separate D forwards (labelled, unlabelled, generated) as in the reference, its loss
expressions as written there (``-mean(l_lab) + mean(log_sum_exp)``, ``-0.5*mean(l_unl) + ...``), feature
matching on ``layers[-3]`` (the last dense layer's ReLU output, before its noise), its ``adam_updates`` (epsilon
inside the square root, ``t`` starting at 1), its averaging ``a <- a + 0.0001 (p - a)`` from ``a = 0``, the hidden
weight scales left out of the trainable parameters, and the G step after the D update.

The library (one concatenated D forward, seed axis, multi-tensor Adam, device-side batches) must follow it
step for step from the same state: same losses, same weights, same averages. A bug in any piece of the
recipe -- the feature layer, the noise placement, the loss constants, Adam's epsilon, the order of the two
updates, a trainable hidden scale -- shows here as a mismatch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ssgan_lib.train import Trainer, TrainConfig

LR, MOM1, MOM2 = 0.003, 0.5, 0.999


def log_sum_exp(x: torch.Tensor) -> torch.Tensor:  # nn.log_sum_exp, axis=1
    m = x.max(dim=1).values
    return m + torch.log(torch.exp(x - m[:, None]).sum(dim=1))


class Transcribed:
    """The reference networks as plain tensors (no seed axis), loaded from one run of the library."""

    def __init__(self, tr: Trainer, s: int = 0):
        D, G = tr.D, tr.G
        own = lambda t: t.detach().clone()  # noqa: E731  (fresh leaf tensors: nothing shared)
        self.d_theta = [own(l.theta[s]) for l in list(D.hidden) + [D.out]]
        self.d_b = [own(l.b[s, 0]) for l in list(D.hidden) + [D.out]]
        self.d_scale = [own(l.g[s, 0]) for l in list(D.hidden) + [D.out]]
        # LL.get_all_params(layers, trainable=True): theta and b everywhere, weight_scale of the output only
        self.disc_params = [t for pair in zip(self.d_theta, self.d_b) for t in pair] + [self.d_scale[-1]]
        self.disc_avg = [torch.zeros_like(p) for p in self.disc_params]
        self.g = {"W1": own(G.w1[s]), "b1": own(G.beta1[s, 0]), "W2": own(G.w2[s]), "b2": own(G.beta2[s, 0]),
                  "W3": own(G.w3[s]), "W_scale": own(G.g3[s, 0]), "b3": own(G.b3[s, 0])}
        self.gen_params = list(self.g.values())
        self.adam_state = {"disc": self._adam_state(self.disc_params), "gen": self._adam_state(self.gen_params)}

    @staticmethod
    def _adam_state(params):
        return {"t": 1.0, "v": [torch.zeros_like(p) for p in params], "mg": [torch.zeros_like(p) for p in params]}

    # -- nn.DenseLayer / GaussianNoiseLayer stack --------------------------------------------------------------
    def disc(self, x, noise):
        """Returns (output_before_softmax, output of layers[-3])."""
        theta, b, scale = self.d_theta, self.d_b, self.d_scale
        sigmas = [0.3, 0.5, 0.5, 0.5, 0.5, 0.5]
        h = x + sigmas[0] * noise[0]
        feat = None
        for i in range(5):
            W = theta[i] * (scale[i] / torch.sqrt(torch.sum(torch.square(theta[i]), dim=0)))[None, :]
            h = torch.maximum(h @ W + b[i][None, :], torch.zeros(()))  # nn.relu
            feat = h  # layers[-3] after the last hidden layer
            h = h + sigmas[i + 1] * noise[i + 1]
        W = theta[5] * (scale[5] / torch.sqrt(torch.sum(torch.square(theta[5]), dim=0)))[None, :]
        return h @ W + b[5][None, :], feat

    # -- lasagne DenseLayer + nn.batch_norm(g=None) + nn.l2normalize ---------------------------------------------
    def gen(self, z):
        g = self.g

        def bn(x, beta):
            mean = x.mean(dim=0)
            centered = x - mean[None, :]
            var = torch.square(centered).mean(dim=0)
            return centered / torch.sqrt(1e-6 + var)[None, :] + beta[None, :]

        h = F.softplus(bn(z @ g["W1"], g["b1"]))
        h = F.softplus(bn(h @ g["W2"], g["b2"]))
        W = g["W3"] * (g["W_scale"] / torch.sqrt(1e-6 + torch.sum(torch.square(g["W3"]), dim=0)))[None, :]
        return torch.sigmoid(h @ W + g["b3"][None, :])

    # -- nn.adam_updates --------------------------------------------------------------------------------------
    def adam(self, which, params, cost):
        st = self.adam_state[which]
        grads = torch.autograd.grad(cost, params)
        t = st["t"]
        with torch.no_grad():
            for p, g, v, mg in zip(params, grads, st["v"], st["mg"]):
                v_t = MOM1 * v + (1.0 - MOM1) * g
                mg_t = MOM2 * mg + (1.0 - MOM2) * torch.square(g)
                v_hat = v_t / (1.0 - MOM1 ** t)
                mg_hat = mg_t / (1.0 - MOM2 ** t)
                g_t = v_hat / torch.sqrt(mg_hat + 1e-8)
                p.sub_(LR * g_t)
                v.copy_(v_t)
                mg.copy_(mg_t)
        st["t"] = t + 1.0

    # -- one iteration of the training loop: train_batch_disc, then train_batch_gen --------------------------------
    def step(self, x_lab, labels, x_unl, z, noise_lab, noise_unl, noise_fake, x_unl2, z2, noise_real2, noise_gen2):
        for p in self.disc_params + self.gen_params:
            p.requires_grad_(True)
        with torch.no_grad():
            gen_dat = self.gen(z)
        out_lab, _ = self.disc(x_lab, noise_lab)
        out_unl, _ = self.disc(x_unl, noise_unl)
        out_fake, _ = self.disc(gen_dat, noise_fake)
        z_exp_lab = torch.mean(log_sum_exp(out_lab))
        l_lab = out_lab[torch.arange(len(labels)), labels]
        l_unl = log_sum_exp(out_unl)
        loss_lab = -torch.mean(l_lab) + torch.mean(z_exp_lab)
        loss_unl = (-0.5 * torch.mean(l_unl) + 0.5 * torch.mean(F.softplus(log_sum_exp(out_unl)))
                    + 0.5 * torch.mean(F.softplus(log_sum_exp(out_fake))))
        with torch.no_grad():  # Theano's updates all read the old values: the average sees p before Adam
            for a, p in zip(self.disc_avg, self.disc_params):
                a.add_(0.0001 * (p - a))
        self.adam("disc", self.disc_params, loss_lab + 1.0 * loss_unl)
        gen_dat2 = self.gen(z2)
        mom_gen = torch.mean(self.disc(gen_dat2, noise_gen2)[1], dim=0)
        mom_real = torch.mean(self.disc(x_unl2, noise_real2)[1], dim=0)
        loss_gen = torch.mean(torch.square(mom_gen - mom_real))
        self.adam("gen", self.gen_params, loss_gen)
        return loss_lab.item(), loss_unl.item(), loss_gen.item()


def split_batches(noise, B, parts):
    """The noise of one concatenated forward, cut into the noise of ``parts`` separate forwards of B."""
    return [[n[0, k * B:(k + 1) * B] for n in noise] for k in range(parts)]


def test_library_step_follows_the_transcribed_reference(mnist):
    B = 100
    cfg = TrainConfig(labels=100, steps=50, val_size=0, eval_every=0, log_every=1000, seed=3)
    tr = Trainer(cfg, data=mnist, progress=False)
    tr._init_data_dependent()
    ref = Transcribed(tr)
    hidden_scales = [t.clone() for t in ref.d_scale[:5]]
    for step in range(8):
        if tr.epoch_pos >= tr.steps_per_epoch:
            tr._new_epoch()
        inp = tr.draw_inputs()
        lab, unl, fake = split_batches(inp["noise_d"], B, 3)
        real2, gen2 = split_batches(inp["noise_g"], B, 2)  # D saw cat([x_unl2, fake2]) in the G step
        want = ref.step(inp["x_lab"][0], inp["y_lab"][0], inp["x_unl"][0], inp["z"][0], lab, unl, fake,
                        inp["x_unl2"][0], inp["z2"][0], real2, gen2)
        before = tr._acc.clone()
        tr.train_step(inp)
        got = (tr._acc - before)[0, :3]  # this step's loss_lab, loss_unl, loss_g
        assert torch.allclose(got, torch.tensor(want), rtol=1e-4, atol=1e-6), (step, got.tolist(), want)
        tr.epoch_pos += 1
        tr.step += 1

    D, G = tr.D, tr.G
    layers = list(D.hidden) + [D.out]
    for i, l in enumerate(layers):
        assert torch.allclose(l.theta[0], ref.d_theta[i], rtol=1e-4, atol=1e-5), f"theta of layer {i}"
        assert torch.allclose(l.b[0, 0], ref.d_b[i], rtol=1e-4, atol=1e-5), f"b of layer {i}"
        assert torch.allclose(l.g[0, 0], ref.d_scale[i], rtol=1e-4, atol=1e-5), f"scale of layer {i}"
    for i in range(5):  # hidden scales are not trained: exactly the data-dependent values
        assert torch.equal(layers[i].g[0, 0], hidden_scales[i])
    for name, p in (("W1", G.w1), ("b1", G.beta1), ("W2", G.w2), ("b2", G.beta2), ("W3", G.w3),
                    ("W_scale", G.g3), ("b3", G.b3)):
        assert torch.allclose(p[0].reshape(ref.g[name].shape), ref.g[name], rtol=1e-4, atol=1e-5), name
    # the running average, uncorrected as in the reference (the library reads it out bias-corrected)
    lib_avg = dict(zip([id(p) for p in tr.d_params], tr.avg.avg))
    lib_order = [t for l in layers for t in (l.theta, l.b)] + [D.out.g]
    for i, (p, a_ref) in enumerate(zip(lib_order, ref.disc_avg)):
        assert torch.allclose(lib_avg[id(p)][0].reshape(a_ref.shape), a_ref, rtol=1e-4, atol=1e-8), f"average {i}"
