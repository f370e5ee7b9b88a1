# %% [markdown]
# # 1. The GAN game
#
# **Learning goals**
#
# - Write the value function $V(D, G)$ of Goodfellow et al. (2014) and say what each player wants.
# - Derive the optimal discriminator $D^*(x) = p_{\text{data}}(x) / (p_{\text{data}}(x) + p_g(x))$ and see a
#   trained discriminator approach it.
# - Connect the game to the Jensen–Shannon divergence: against $D^*$, the generator minimises
#   $2\,\mathrm{JSD}(p_{\text{data}} \,\|\, p_g) - \log 4$.
# - Explain why the minimax generator loss saturates and why everybody trains with the non-saturating one.
# - Train a GAN on a 2-D toy (a ring of 8 Gaussians) in seconds, and watch **mode collapse** and **oscillation**
#   happen, with a number for it: how many of the 8 modes the generator covers.

# %% [markdown]
# ## Running this chapter
#
# Sizes follow the machine: *cpu* without a GPU, *gpu* on one such as Colab's T4, *full* only when
# asked. The cell below (click to show it) sets the size and gives each size's expected training time;
# the run-info line at the end says how long this copy took.

# %% tags=["hide-cell"]
from ssgan_lib.evidence.runinfo import RunInfo, glue  # glue: numbers for the text

run = RunInfo("01 GAN game")
# each of 3 toy GANs
toy_steps = run.size(smoke=400, cpu=3000, gpu=3000, full=3000, work={"toy": 3})
# D alone, towards D*
dstar_steps = run.size(smoke=300, cpu=2000, gpu=2000, full=2000, work="toy")
run.explain()

# %% [markdown]
# ## Two players, one value function
#
# A generator $G$ turns noise $z \sim p_z$ (here a standard normal) into samples $G(z)$; their distribution is
# called $p_g$. A discriminator $D$ looks at a point $x$ and outputs $D(x) \in (0, 1)$, its probability that
# $x$ is real, i.e. drawn from $p_{\text{data}}$ rather than made by $G$. Goodfellow et al. (2014) set the two
# against each other in one **value function**:
#
# $$ V(D, G) = \mathbb E_{x \sim p_{\text{data}}} \log D(x) + \mathbb E_{z \sim p_z} \log\bigl(1 - D(G(z))\bigr),
#    \qquad \min_G \max_D V(D, G). $$
#
# $D$ maximises $V$: a high $D(x)$ on real data and a low $D(G(z))$ on fakes. $G$ minimises it: it wants
# $D(G(z))$ high. In code, $D$ outputs a **logit** $\ell(x)$ and $D(x) = \sigma(\ell(x))$, the logistic sigmoid;
# the losses that are *minimised* are (docstrings of `ssgan_lib.losses`)
#
# $$ \begin{aligned}
#    L_D &= -\mathbb E_x \log D(x) - \mathbb E_z \log(1 - D(G(z))) \\
#        &= \mathbb E_x \operatorname{softplus}(-\ell(x)) + \mathbb E_z \operatorname{softplus}(\ell(G(z))),
#    \end{aligned} $$
#
# $$ L_G^{\text{mm}} = \mathbb E_z \log(1 - D(G(z))) = -\mathbb E_z \operatorname{softplus}(\ell(G(z))), $$
#
# with $\operatorname{softplus}(a) = \log(1 + e^a)$. So $L_D = -V$ (the discriminator loss is a binary
# cross-entropy with label 1 for real and 0 for fake) and $L_G^{\text{mm}}$ is the part of $V$ that depends on
# $G$. The two forms are equal because $\log \sigma(\ell) = -\operatorname{softplus}(-\ell)$ and
# $\log(1 - \sigma(\ell)) = -\operatorname{softplus}(\ell)$; the softplus form never takes the log of a
# probability that has rounded to $0$.
#
# ## The losses by hand, then the library
#
# First the direct translation of the formulas, with probabilities; then a check against `ssgan_lib.losses`,
# which works on logits.

# %%
import math
import textwrap

import matplotlib.pyplot as plt
import torch

from ssgan_lib import losses
from ssgan_lib.gan import (
    GANConfig,
    ToyDiscriminator,
    ToyGenerator,
    modes_covered,
    ring_centers,
    ring_of_gaussians,
    train_discriminator,
    train_gan,
)
from ssgan_lib.plots import plot_gan_history



# %%
def d_loss_by_hand(real_logits, fake_logits):
    """L_D = -E log D(x) - E log(1 - D(G(z))), straight from the formula."""
    d_real, d_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    return -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()


def g_loss_minimax_by_hand(fake_logits):
    """L_G^mm = E log(1 - D(G(z)))."""
    return torch.log(1 - torch.sigmoid(fake_logits)).mean()


def g_loss_ns_by_hand(fake_logits):
    """L_G^ns = -E log D(G(z)) (the non-saturating loss, below)."""
    return -torch.log(torch.sigmoid(fake_logits)).mean()


g = torch.Generator().manual_seed(0)
# float64, so that the comparison tests the formulas and not float32 rounding
real_logits = 3 * torch.randn(256, generator=g, dtype=torch.float64)
fake_logits = 3 * torch.randn(256, generator=g, dtype=torch.float64)
checks = {
    "D loss": (
        d_loss_by_hand(real_logits, fake_logits),
        losses.d_loss(real_logits, fake_logits),
    ),
    "G loss, minimax": (
        g_loss_minimax_by_hand(fake_logits),
        losses.g_loss_minimax(fake_logits),
    ),
    "G loss, non-saturating": (
        g_loss_ns_by_hand(fake_logits),
        losses.g_loss_nonsaturating(fake_logits),
    ),
}
for name, (mine, lib) in checks.items():
    print(
        f"{name:24s} by hand {mine.item():.6f}   ssgan_lib {lib.item():.6f}   allclose:"
        f" {torch.allclose(mine, lib)}"
    )

# Where the two differ: a confident discriminator (large logits) in float32
extreme = torch.tensor([-120.0, 120.0])
print(
    "by hand, extreme logits:  ",
    d_loss_by_hand(extreme, -extreme).item(),
    g_loss_ns_by_hand(extreme).item(),
)
print(
    "ssgan_lib, extreme logits:",
    losses.d_loss(extreme, -extreme).item(),
    losses.g_loss_nonsaturating(extreme).item(),
)

# %% [markdown]
# On ordinary logits the two agree to float precision. With a very confident discriminator they do not:
# $\sigma(-120)$ rounds to $0$ in float32, its log is $-\infty$, and one such sample turns the whole batch loss into
# `inf` (and its gradient into `nan`). The softplus form returns the right finite value. From here on the book
# uses the library's losses.
#
# ## The optimal discriminator
#
# Fix $G$. Writing the second expectation over $x = G(z) \sim p_g$ instead of over $z$,
#
# $$ V(D, G) = \int \Bigl( p_{\text{data}}(x) \log D(x) + p_g(x) \log\bigl(1 - D(x)\bigr) \Bigr)\, dx . $$
#
# $D$ can choose its value at every $x$ separately, so it maximises the integrand pointwise. For $a, b \ge 0$ (not
# both 0) the function $f(y) = a \log y + b \log(1 - y)$ on $(0, 1)$ has $f'(y) = a/y - b/(1-y)$, which is zero at
# $y = a / (a + b)$, and $f''(y) = -a/y^2 - b/(1-y)^2 < 0$: a maximum. With $a = p_{\text{data}}(x)$, $b = p_g(x)$:
#
# $$ D^*_G(x) = \frac{p_{\text{data}}(x)}{p_{\text{data}}(x) + p_g(x)} . $$
#
# $D^*$ is the posterior probability of "real" when real and fake points are equally frequent. Where only data
# lives, $D^* = 1$; where only the generator puts mass, $D^* = 0$; where $p_g = p_{\text{data}}$, $D^* = \tfrac12$.
#
# ## The Jensen–Shannon connection
#
# Put $D^*$ back into $V$. With the mixture $m = \tfrac12 (p_{\text{data}} + p_g)$,
#
# $$ \begin{aligned}
#    C(G) &= \max_D V(D, G) \\
#    &= \mathbb E_{p_{\text{data}}} \log \frac{p_{\text{data}}}{p_{\text{data}} + p_g}
#       + \mathbb E_{p_g} \log \frac{p_g}{p_{\text{data}} + p_g} \\
#    &= -\log 4 + \mathrm{KL}(p_{\text{data}} \,\|\, m) + \mathrm{KL}(p_g \,\|\, m) \\
#    &= -\log 4 + 2\, \mathrm{JSD}(p_{\text{data}} \,\|\, p_g) .
#    \end{aligned} $$
#
# (Each fraction is $\tfrac12 \cdot p / m$, and $\log \tfrac12$ twice is $-\log 4$.) The Jensen–Shannon divergence
# is $\ge 0$ and $0$ only when the two distributions are equal, so against a perfect discriminator the generator's
# problem has its global minimum $C = -\log 4$ exactly at $p_g = p_{\text{data}}$, where $D^* \equiv \tfrac12$. It
# is also bounded, $\mathrm{JSD} \le \log 2$, with equality when the two supports do not overlap: then $C(G) = 0$
# whatever $G$ does, a first hint that the perfect discriminator is a poor teacher.
#
# A small experiment makes $D^*$ concrete. Take two 2-D Gaussians, $p_{\text{data}} = \mathcal N((1, 0),
# 0.5^2 I)$ and a frozen "generator" $p_g = \mathcal N((-0.5, 0), I)$, sample both, and train the toy
# discriminator alone on them (`gan.train_discriminator`, the D step of a GAN without the G step). Its output
# should approach $D^*$, and its value $V(D, G) = -L_D$ should approach $C(G) = -\log 4 + 2\,\mathrm{JSD}$.

# %%
def gauss_logpdf(x, mean, std):
    """log density of N(mean, std^2 I) in 2-D."""
    return -((x - torch.tensor(mean)) ** 2).sum(-1) / (2 * std**2) - math.log(
        2 * math.pi * std**2
    )


mu_data, s_data, mu_g, s_g = (1.0, 0.0), 0.5, (-0.5, 0.0), 1.0
gd = torch.Generator().manual_seed(1)
n = 20_000
real_pts = torch.tensor(mu_data) + s_data * torch.randn(n, 2, generator=gd)
fake_pts = torch.tensor(mu_g) + s_g * torch.randn(n, 2, generator=gd)


def d_star_logit(x):
    """log p_data(x) - log p_g(x): the logit of D*(x) = p_data / (p_data + p_g)."""
    return gauss_logpdf(x, mu_data, s_data) - gauss_logpdf(x, mu_g, s_g)


torch.manual_seed(0)
D_alone = ToyDiscriminator()
d_losses = train_discriminator(
    D_alone, real_pts, fake_pts, steps=dstar_steps, batch_size=256, lr=1e-3, seed=0
)

# Fresh samples for the estimates (not the training ones)
real_test = torch.tensor(mu_data) + s_data * torch.randn(n, 2, generator=gd)
fake_test = torch.tensor(mu_g) + s_g * torch.randn(n, 2, generator=gd)
with torch.no_grad():
    # V(D*, G) = C(G)
    v_star = -losses.d_loss(d_star_logit(real_test), d_star_logit(fake_test)).item()
    v_trained = -losses.d_loss(D_alone(real_test), D_alone(fake_test)).item()
jsd = (v_star + math.log(4)) / 2
print(
    f"V(D*, G) = -log 4 + 2 JSD = {v_star:.4f}  (JSD = {jsd:.4f} nats, at most log 2 ="
    f" {math.log(2):.4f})"
)
print(f"V(D, G) of the trained D   = {v_trained:.4f}  after {dstar_steps} steps")
glue("v_star", v_star)
glue("v_trained", v_trained)
glue("jsd", jsd)
glue("dstar_steps", dstar_steps)

# %%
xs = torch.linspace(-3.5, 3.5, 301)
line = torch.stack([xs, torch.zeros_like(xs)], 1)
with torch.no_grad():
    d_trained_line = torch.sigmoid(D_alone(line))
d_star_line = torch.sigmoid(d_star_logit(line))
fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.2, 3.4))
a1.plot(xs, gauss_logpdf(line, mu_data, s_data).exp(), label=r"$p_{\mathrm{data}}$")
a1.plot(xs, gauss_logpdf(line, mu_g, s_g).exp(), label=r"$p_g$")
a1.set_xlabel("$x_1$ (on the line $x_2 = 0$)")
a1.set_ylabel("density")
a1.set_title("the two densities")
a1.legend(fontsize=9, loc="upper left")  # an empty corner: no curve there
a2.plot(xs, d_star_line, "k", lw=2, label=r"$D^*$")
a2.plot(xs, d_trained_line, "C3--", lw=2, label="trained D")
a2.axhline(0.5, color="gray", lw=0.8, ls=":")
a2.set_xlabel("$x_1$ (on the line $x_2 = 0$)")
a2.set_ylim(-0.02, 1.02)
a2.set_ylabel("D(x)")
a2.set_title("discriminator output")
a2.legend(fontsize=9, loc="upper left")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure 1.1.** Left: along the horizontal line through both centres, the density of the data (blue), a
# Gaussian centred at (1, 0) with standard deviation 0.5, and of the frozen generator (orange), a wider Gaussian
# centred at (−0.5, 0) with standard deviation 1. Right: along the same line, the optimal discriminator (black),
# the ratio of the data density to the sum of both, and the discriminator trained alone (red, dashed); the dotted
# line marks D = ½.
#
# The discriminator was trained for {glue:text}`dstar_steps` steps. The trained discriminator (dashed) lies on top of $D^*$ where the samples are dense and drifts from it in the
# tails, where it saw few points. $D^*$ is not monotone: the generator is *wider* than the data, so far out on
# either side $p_g$ wins and $D^* \to 0$ — a discriminator tells real from fake by density ratio, not by a
# single boundary. On fresh samples, $V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}$ is {glue:text}`v_star:.3f`
# (a JSD of {glue:text}`jsd:.3f` nats, out of at most $\log 2 \approx 0.693$), and the trained discriminator
# reaches $V = $ {glue:text}`v_trained:.3f` after {glue:text}`dstar_steps` steps: no discriminator can beat $D^*$,
# and this one comes close.
#
# ## Saturation, and the non-saturating loss
#
# The generator only receives gradients through $D(G(z))$. Differentiate the two generator losses with respect
# to the logit $\ell = \ell(G(z))$, the number that backpropagation passes into $D$'s network and on into $G$:
#
# $$ \begin{aligned}
#    \frac{\partial}{\partial \ell} \log\bigl(1 - \sigma(\ell)\bigr) &= -\sigma(\ell) = -D(G(z)), \\
#    \frac{\partial}{\partial \ell} \bigl(-\log \sigma(\ell)\bigr) &= -\bigl(1 - \sigma(\ell)\bigr)
#      = -\bigl(1 - D(G(z))\bigr).
#    \end{aligned} $$
#
# Early in training the generator is bad, the discriminator rejects its samples with confidence, and
# $D(G(z)) \approx 0$. Then the minimax loss $L_G^{\text{mm}}$ gives a gradient of size $D(G(z)) \approx 0$: it
# **saturates** exactly when the generator most needs to learn. Goodfellow et al. therefore proposed to train $G$
# to *maximise* $\log D(G(z))$ instead, the **non-saturating** loss
#
# $$ L_G^{\text{ns}} = -\mathbb E_z \log D(G(z)) = \mathbb E_z \operatorname{softplus}(-\ell(G(z))) , $$
#
# whose gradient has size $1 - D(G(z)) \approx 1$ in the same situation. Both losses are decreasing in $D(G(z))$
# and push it the same way; they differ in *where* they push hard. The plot below computes both losses and their
# gradients with `ssgan_lib.losses` and autograd.

# %%
p = torch.linspace(0.001, 0.999, 400)
# (N, 1): one "batch" of 1 per point
logit = torch.log(p / (1 - p)).reshape(-1, 1).requires_grad_(True)
curves = {}
for name, fn in (
    ("minimax  $\\log(1 - D)$", losses.g_loss_minimax),
    ("non-saturating  $-\\log D$", losses.g_loss_nonsaturating),
):
    value = fn(logit)  # shape (N,): the loss averages over the last axis, of size 1
    (grad,) = torch.autograd.grad(value.sum(), logit)
    curves[name] = (value.detach(), grad.squeeze(1))
fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.2, 3.7))
for name, (value, grad) in curves.items():
    a1.plot(p, value, label=name)
    a2.plot(p, grad, label=name)
a1.set_xlabel("D(G(z))")
a1.set_title("generator loss (minimised)")
a1.set_ylabel("loss")
a1.set_ylim(-5, 5)
a2.set_xlabel("D(G(z))")
a2.set_title(r"gradient w.r.t. the logit $\ell(G(z))$")
a2.set_ylabel("gradient")
a2.axhline(0, color="gray", lw=0.8)
a2.annotate(
    "early training:\nD rejects the fakes",
    xy=(0.02, -0.02),
    xytext=(0.3, -0.08),
    va="top",
    fontsize=9,
    arrowprops=dict(arrowstyle="->", lw=0.8),
)
# one legend for both panels, below them: off the curves
fig.legend(*a1.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=9)
fig.tight_layout(rect=(0, 0.08, 1, 1))
plt.show()
grad_mm_early = float(curves["minimax  $\\log(1 - D)$"][1][0])
grad_ns_early = float(curves["non-saturating  $-\\log D$"][1][0])
glue("p_early", float(p[0]))
glue("grad_mm_early", grad_mm_early)
glue("grad_ns_early", grad_ns_early)

# %% [markdown]
# **Figure 1.2.** Left: the two generator losses against the discriminator's output on a fake, D(G(z)): the
# minimax loss log(1 − D) (blue) and the non-saturating loss −log D (orange), computed with `ssgan_lib.losses`
# (the vertical axis is cut at ±5). Right: their derivatives with respect to the logit of D(G(z)), from
# autograd. The minimax gradient goes to 0 at the left end, where the discriminator rejects the fakes (the
# arrow); the non-saturating one goes to 0 at the right end.
#
# At $D(G(z)) = $ {glue:text}`p_early:.3f` the minimax gradient is {glue:text}`grad_mm_early:.3f`, the
# non-saturating one {glue:text}`grad_ns_early:.3f`: a factor of about a thousand. Near $D(G(z)) = 1$ the roles
# swap, but a generator that fools the discriminator that well does not need a strong push. The non-saturating
# loss is not the same game any more (Arjovsky & Bottou (2017) show that against $D^*$ it minimises
# $\mathrm{KL}(p_g \,\|\, p_{\text{data}}) - 2\,\mathrm{JSD}$, a divergence that punishes fakes off the data much
# more than data the generator misses — one reason for mode dropping), but its fixed point is the same, and it
# is the loss used in practice, `GANConfig(g_loss="ns")` by default.
#
# ## A GAN in two dimensions: the ring of Gaussians
#
# The classic toy for watching a GAN learn (Metz et al. 2017) is a mixture of 8 Gaussians on a circle of radius 2
# with standard deviation 0.05 (`gan.ring_of_gaussians`). The generator maps $z \sim \mathcal N(0, I_{16})$ through
# two hidden layers of 128 ReLU units to a point in the plane; the discriminator is the same size. Each run below
# trains with `train_gan` (Adam, $\beta_1 = 0.5$, batch 64, one D step per G step) and keeps the samples of a
# **fixed** batch of 1000 noise vectors every few steps. A mode counts as **covered** when at least 1 % of these
# samples lie within 0.25 of its centre (`gan.modes_covered`; the 8 modes are 1.5 apart).
#
# `train_gan` is a plain loop of about forty lines, the one you would write yourself; the next cell prints it.
# Each step takes a real batch (a fresh random order of the data every epoch), one Adam step of $D$ on $L_D$ with
# the fake batch **detached** (this step must not train $G$), then one Adam step of $G$ on its loss through the
# $D$ just updated. The four numbers it logs are summed on the device and read only every `log_every` steps.

# %%
import inspect

print(inspect.getsource(train_gan))

# %% [markdown]
# Three runs, the same seed and networks:
#
# - **A**: non-saturating loss, learning rate 0.001
# - **B**: the minimax loss, learning rate 0.001
# - **C**: non-saturating loss, learning rate 0.0001 (ten times smaller)

# %%
ring = ring_of_gaussians(20_000, modes=8, radius=2.0, std=0.05, seed=0)
centers = ring_centers(8, 2.0)
snap_fine = max(1, toy_steps // 120)  # run C: 120 snapshots, to follow its blob
snap_every = 5 * snap_fine  # runs A and B: 24, at steps where C has one too
runs = {
    "A: ns, lr 1e-3": dict(
        g_loss="ns", lr_d=1e-3, lr_g=1e-3, snapshot_every=snap_every
    ),
    "B: minimax, lr 1e-3": dict(
        g_loss="minimax", lr_d=1e-3, lr_g=1e-3, snapshot_every=snap_every
    ),
    "C: ns, lr 1e-4": dict(
        g_loss="ns", lr_d=1e-4, lr_g=1e-4, snapshot_every=snap_fine
    ),
}
toy = {}
for name, opt in runs.items():
    torch.manual_seed(0)
    G, D = ToyGenerator(z_dim=16), ToyDiscriminator()
    cfg = GANConfig(
        steps=toy_steps,
        batch_size=64,
        n_fixed=1000,
        log_every=max(1, toy_steps // 100),
        seed=0,
        progress=False,
        **opt,
    )
    toy[name] = train_gan(G, D, ring, cfg)

# The same steps for every run (every run also keeps a snapshot at its last step)
shown = sorted(set.intersection(*(set(h.snapshot_steps) for h in toy.values())))
rows = {}
for name, h in toy.items():
    cov = dict(zip(h.snapshot_steps, (modes_covered(s, centers) for s in h.snapshots)))
    rows[name] = [cov[st] for st in shown]
print(
    f"modes covered (of 8) at the same {len(shown)} steps of each run:\n"
    f"steps {shown[0]}, {shown[1]}, ..., {shown[-1]} (the last step)"
)
for name, row in rows.items():
    print(f"{name:20s} {' '.join(map(str, row))}")


def show_snapshots(h, title, every=2, cols=4):
    """Scatter plots of G(fixed z) (orange) over the data (grey), every ``every``-th
    snapshot."""
    idx = list(range(every - 1, len(h.snapshots), every))[: 3 * cols]
    rows = -(-len(idx) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(min(7.2, 1.75 * cols), 1.85 * rows + 0.5), squeeze=False
    )
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, idx):
        s = h.snapshots[i]
        ax.scatter(ring[:1000, 0], ring[:1000, 1], s=2, c="0.6")
        ax.scatter(s[:, 0], s[:, 1], s=1, c="C1", alpha=0.5)
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
        ax.set_title(
            f"step {h.snapshot_steps[i]}: {modes_covered(s, centers)}/8", fontsize=9
        )
    fig.suptitle(textwrap.fill(title, 75), fontsize=10)
    fig.tight_layout()
    plt.show()


show_snapshots(
    toy["A: ns, lr 1e-3"],
    "run A (non-saturating, lr 1e-3), first half: samples of a fixed noise batch, modes"
    " covered",
    every=1,
)

# %% [markdown]
# **Figure 1.3.** Run A (non-saturating loss, learning rate 0.001), first half of the run: twelve scatter plots,
# one per snapshot, of the generator's samples for a fixed noise batch (orange) over the ring of 8 data clusters
# (grey), each titled with its step and the number of modes covered.

# %%
hA = toy["A: ns, lr 1e-3"]
covA = [modes_covered(s, centers) for s in hA.snapshots]
# the first snapshot from which on all 8 modes stay covered (None if the run ends with
# fewer)
first_all = next(
    (st for i, st in enumerate(hA.snapshot_steps) if all(c == 8 for c in covA[i:])),
    None,
)
first_one = hA.snapshot_steps[0]
glue("a_first_all", first_all if first_all is not None else "never")
glue("a_cov_first", covA[0])
glue("a_step_first", first_one)
glue("a_cov_final", covA[-1])
glue("toy_steps", toy_steps)

# %% [markdown]
# Run A starts the way most GANs do. At step {glue:text}`a_step_first` its samples cover
# {glue:text}`a_cov_first` of the 8 modes: the generator has put its mass in one small region, a **mode collapse**.
# The discriminator learns that this region is fake, the generator moves its samples elsewhere, the discriminator
# follows: the snapshots jump around the plane. Then the samples spread over a cloud, settle on the circle and
# gather on the modes; all 8 are covered from step {glue:text}`a_first_all` on, and at the end of the
# {glue:text}`toy_steps` steps {glue:text}`a_cov_final` are (Figure 1.3 shows the first half of the run). The losses and discriminator outputs of the same run:

# %%
plot_gan_history(hA, "run A: losses and discriminator outputs")
plt.show()
tail = max(1, len(hA.step) // 10)  # the last tenth of the run
for key in ("d_loss", "d_real", "d_fake"):
    glue(f"a_{key}_end", sum(getattr(hA, key)[-tail:]) / tail)

# %% [markdown]
# **Figure 1.4.** Run A's training history (`plot_gan_history`), one point per logging interval. Left: the D and
# G losses. Right: the discriminator's mean output on real batches, D(x), and on fake batches, D(G(z)); the
# dashed line marks ½.
#
# Over the last tenth of the run the mean $D(x)$ is {glue:text}`a_d_real_end:.2f`, the mean $D(G(z))$
# {glue:text}`a_d_fake_end:.2f` and the D loss {glue:text}`a_d_loss_end:.2f`, on their way to $\tfrac12$, $\tfrac12$
# and $2 \log 2 \approx 1.39$: the values of the equilibrium $p_g = p_{\text{data}}$ ({ref}`ch01-equilibrium-value`). The early part, where the
# generator collapses and hops, is where the curves are furthest from these lines.
#
# Run C is the same game, ten times slower:

# %%
show_snapshots(
    toy["C: ns, lr 1e-4"],
    "run C (non-saturating, lr 1e-4): the collapsed generator travels around the ring",
    every=10,
)

# %% [markdown]
# **Figure 1.5.** Run C (non-saturating loss, learning rate 0.0001): the samples of the fixed noise batch
# (orange) over the ring of data clusters (grey) at every tenth snapshot, each titled with its step and the
# number of modes covered. In every panel the samples form a single blob, and the blob sits at a different place
# from panel to panel.

# %%
def dominant_angle(s):
    """Angle (degrees) of the median sample: where on the ring a collapsed generator
    sits."""
    m = s.median(dim=0).values
    return math.degrees(math.atan2(m[1].item(), m[0].item()))


fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.2, 3.6))
# run A thick and light underneath: where A and B cover the same modes both stay visible
styles = (dict(fmt="o-", ms=6, lw=4, alpha=0.4), dict(fmt="s--", ms=3, lw=1.2),
          dict(fmt="^-", ms=3, lw=1.2))
for (name, h), style in zip(toy.items(), styles):
    cov = [modes_covered(s, centers) for s in h.snapshots]
    a1.plot(h.snapshot_steps, cov, style.pop("fmt"), label=name, **style)
a1.set_ylim(-0.3, 8.3)
a1.set_xlabel("step")
a1.set_ylabel("modes covered (of 8)")
a1.legend(fontsize=9)
a1.set_title("mode coverage over training")
hC = toy["C: ns, lr 1e-4"]
anglesC = [dominant_angle(s) for s in hC.snapshots]
a2.plot(hC.snapshot_steps, anglesC, "o-", ms=3, color="C2")
for k in range(8):
    a2.axhline(((45 * k + 180) % 360) - 180, color="gray", lw=0.5, ls=":")
a2.set_ylim(-185, 185)
a2.set_xlabel("step")
a2.set_ylabel("angle of the median sample (degrees)")
a2.set_title("run C: where the collapsed G sits\n(dotted: the 8 modes)")
fig.tight_layout()
plt.show()
covC = [modes_covered(s, centers) for s in hC.snapshots]
# unwrapped, degrees
turn = sum(((b - a + 180) % 360) - 180 for a, b in zip(anglesC[:-1], anglesC[1:]))
glue("c_laps", abs(turn) / 360)
glue("c_max_cov", max(covC))
glue("c_n_snap", len(covC))
glue("c_snap_every", snap_fine)
# the last numbers of the printed rows (the last step of each run)
glue("last_step", shown[-1])
glue("c_final_cov", rows["C: ns, lr 1e-4"][-1])
glue("b_final_cov", rows["B: minimax, lr 1e-3"][-1])
glue("b_min_dfake", min(toy["B: minimax, lr 1e-3"].d_fake))

# %% [markdown]
# **Figure 1.6.** Left: the number of modes (of 8) covered by the fixed-noise samples of runs A, B and C at every
# snapshot (A drawn thick and light, so that it shows where B's line lies on top of it). Right: run C only, the
# angle of its median sample at every snapshot; the dotted lines are the angles of the 8 modes. The angle rises
# step after step and wraps from +180 to −180 degrees: the blob goes round the ring.

# %% tags=["remove-cell"]
# The prose about runs A, B and C says what these runs did: generated from them or checked here, so that a
# re-run that contradicts it fails (smoke mode's few steps are too short to show any of it).
moves = [((b - a + 180) % 360) - 180 for a, b in zip(anglesC[:-1], anglesC[1:])]
same_way = sum(m * turn > 0 for m in moves) / max(1, len(moves))
c_direction = (
    "always in the same direction"
    if same_way == 1
    else f"in the same direction over {same_way:.0%} of the intervals between snapshots"
)
if not run.smoke:
    assert covA[0] <= 2, "run A starts collapsed (one small region)"
    assert first_all is not None, "run A covers all 8 modes from some step on"
    assert max(covC) <= 2, "run C never gets out of the collapsed phase"
    assert min(toy["B: minimax, lr 1e-3"].d_fake) > 0.1, "run B's D never rejects with confidence"
    assert shown[-1] == toy_steps and rows["C: ns, lr 1e-4"][-1] == covC[-1], "rows end at the end"
glue("c_direction", c_direction, display=False)

# %% [markdown]
# Run C never gets out of the collapsed phase within {glue:text}`toy_steps` steps: at none of its
# {glue:text}`c_n_snap` snapshots (one every {glue:text}`c_snap_every` steps, Figure 1.6) does it cover more than
# {glue:text}`c_max_cov` of the 8 modes, and at the last step, {glue:text}`last_step`, it covers
# {glue:text}`c_final_cov` (the last number of its printed row). Its samples form one blob that does not stay put: the right panel follows the median sample, which goes round the circle
# {glue:text}`c_laps:.1f` times during the run, {glue:text}`c_direction`. This is the
# **oscillation** of GAN training in its simplest form. The discriminator is a function of $x$ only; it learns
# "the blob is fake here" and pushes the generator to wherever $D$ is currently highest, a neighbouring region,
# which the discriminator then learns to reject in turn. Neither player converges; they chase each other. Run B,
# with the minimax loss, covers {glue:text}`b_final_cov` modes at the last step. Saturation only bites when the
# discriminator rejects the fakes with confidence, $D(G(z)) \approx 0$, and in this run it never does: the mean
# $D(G(z))$ of a logging interval never drops below {glue:text}`b_min_dfake:.2f`. Adam helps too, since it rescales
# small gradients. Saturation needs a discriminator that rejects the fakes with confidence;
# {ref}`ch02-minimax` trains the minimax loss on MNIST, once with a discriminator that learns ten times faster,
# and asks you to read off the mean $D(G(z))$ whether saturation shows.
#
# ## What to watch for
#
# - **Collapse**: the samples of many different $z$ land in one small region. On the ring the mode count drops to
#   1 or 2; on images ([chapter 2](02_mlp_gan)) the sample grid shows the same digit again and again. The losses alone do not
#   show it.
# - **Oscillation**: the collapsed samples move from snapshot to snapshot instead of spreading out; $D(G(z))$ and
#   the losses swing instead of settling. A learning rate that is too small (run C) can keep a GAN in this phase
#   for the whole run, one that is too large makes every step overshoot.
# - **A discriminator that wins**: $D(x) \to 1$, $D(G(z)) \to 0$, $L_D \to 0$. With the minimax loss the
#   generator's gradient then vanishes (saturation); with the non-saturating loss it does not, but the gradient
#   from a near-perfect $D$ carries little information about *where* the data is.
# - **The by-hand loss**: $\log \sigma(\ell)$ in float32 is $-\infty$ for $\ell < -104$ or so; use
#   `softplus` / `F.binary_cross_entropy_with_logits` (the library's form) and pass logits, not probabilities.
# - **Read the samples, not only the numbers**: the mode count says how many modes are hit, not whether the
#   samples are *on* them; the scatter plots say both.
#
# ## Key takeaways
#
# - The GAN losses are binary cross-entropies on logits. Written with `softplus`, they agree with the by-hand
#   formulas on ordinary logits and stay finite at logits of $\pm 120$, where the by-hand form returns `inf`
#   (the code cell of *The losses by hand, then the library*).
# - For a fixed $G$ the best discriminator is $D^* = p_{\text{data}} / (p_{\text{data}} + p_g)$, and against it
#   the generator minimises $-\log 4 + 2\,\mathrm{JSD}(p_{\text{data}} \,\|\, p_g)$. A discriminator trained
#   alone on two Gaussians reaches $V =$ {glue:text}`v_trained:.3f`, against $V(D^*, G) =$
#   {glue:text}`v_star:.3f` (Figure 1.1).
# - The minimax generator loss saturates where $D$ rejects the fakes: at $D(G(z)) =$ {glue:text}`p_early:.3f` its
#   gradient is {glue:text}`grad_mm_early:.3f`, the non-saturating loss's {glue:text}`grad_ns_early:.3f`
#   (Figure 1.2). In run B on the ring the mean $D(G(z))$ never fell below {glue:text}`b_min_dfake:.2f`, so
#   saturation did not bite there, and run B ended covering {glue:text}`b_final_cov` of the 8 modes.
# - On the ring of 8 Gaussians, run A covered {glue:text}`a_cov_first` of the 8 modes at its first snapshot (a
#   collapse) and all 8 from step {glue:text}`a_first_all` on (Figures 1.3 and 1.6). Run C, with a learning rate
#   ten times smaller, never covered more than {glue:text}`c_max_cov`: its single blob went round the ring
#   {glue:text}`c_laps:.1f` times, {glue:text}`c_direction` (Figures 1.5 and 1.6), the oscillation of GAN
#   training.
#
# ## Exercises
#
# :::{exercise}
# :label: ch01-dstar-point
#
# Let $p_{\text{data}} = \mathcal N(0, 1)$ and $p_g = \mathcal N(1, 2^2)$ in one dimension. Compute the optimal
# discriminator $D^*(0)$ at the point $x = 0$, and check it with
# `ssgan_lib.exercises.ch01.check_dstar_point(value)`. Is $D^*(x)$ above or below $\tfrac12$ at $x = 5$, and why?
# :::
#
# :::{solution} ch01-dstar-point
# :class: dropdown
#
# $$ \begin{aligned}
#    p_{\text{data}}(0) &= 1/\sqrt{2\pi} \approx 0.3989, \\
#    p_g(0) &= e^{-1/8} / (2\sqrt{2\pi}) \\
#    &\approx 0.1760, \\
#    D^*(0) &= \frac{0.3989}{0.3989 + 0.1760} \\
#    &\approx 0.694.
#    \end{aligned} $$
#
# ```python
# import math
# from ssgan_lib.exercises.ch01 import check_dstar_point
#
# def normal_pdf(x, mean, std):
#     return math.exp(-(x - mean) ** 2 / (2 * std ** 2)) / (std * math.sqrt(2 * math.pi))
#
# p_data, p_g = normal_pdf(0, 0, 1), normal_pdf(0, 1, 2)
# check_dstar_point(p_data / (p_data + p_g))
# ```
# At $x = 5$: $p_{\text{data}}(5) \approx 1.5\cdot10^{-6}$ but $p_g(5) \approx 0.027$, so $D^*(5) \approx 5.5\cdot
# 10^{-5}$, far below $\tfrac12$. The wider generator puts mass where the data has almost none, and $D^*$ says
# "fake" there — as in Figure 1.1, far from the data on either side.
# :::
#
# :::{exercise}
# :label: ch01-ns-loss
#
# Implement the non-saturating generator loss `ns_loss(fake_logits)`, $L_G^{\text{ns}} = -\mathbb E_z \log
# \sigma(\ell(G(z)))$, as the mean over the last axis of a tensor of logits. It must stay finite for logits as
# small as $-1000$. Check it with `ssgan_lib.exercises.ch01.check_ns_loss(ns_loss)`.
# :::
#
# :::{solution} ch01-ns-loss
# :class: dropdown
#
# Since
#
# $$ \begin{aligned}
#    -\log \sigma(\ell) &= \log(1 + e^{-\ell}) \\
#    &= \operatorname{softplus}(-\ell) ,
#    \end{aligned} $$
#
# the loss is the mean softplus of the negated logits:
# ```python
# import torch.nn.functional as F
# from ssgan_lib.exercises.ch01 import check_ns_loss
#
# def ns_loss(fake_logits):
#     return F.softplus(-fake_logits).mean(-1)
#
# check_ns_loss(ns_loss)
# ```
# `-torch.log(torch.sigmoid(fake_logits)).mean(-1)` is the same formula but returns `inf` once
# $\sigma(\ell)$ rounds to $0$; `F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))`
# is correct too (it averages over *all* axes, which is the same for a 1-D batch).
# :::
#
# :::{exercise}
# :label: ch01-saturation
#
# A discriminator gives a fake sample the logit $\ell = -4$. Compute, by hand or with autograd, the derivative of
# the minimax loss $\log(1 - \sigma(\ell))$ and of the non-saturating loss $-\log \sigma(\ell)$ with respect to
# $\ell$, and check both with `ssgan_lib.exercises.ch01.check_saturation_grads(grad_minimax, grad_ns)`. By
# what factor is the non-saturating gradient larger?
# :::
#
# :::{solution} ch01-saturation
# :class: dropdown
#
# $D = \sigma(-4) \approx 0.0180$. The minimax derivative is $-\sigma(\ell) \approx -0.0180$, the
# non-saturating one $-(1 - \sigma(\ell)) \approx -0.982$: about $e^{4} \approx 55$ times larger (the ratio
# $(1 - \sigma(\ell)) / \sigma(\ell)$ is exactly $e^{-\ell}$).
# ```python
# import torch
# from ssgan_lib import losses
# from ssgan_lib.exercises.ch01 import check_saturation_grads
#
# l = torch.tensor([-4.0], requires_grad=True)
# (g_mm,) = torch.autograd.grad(losses.g_loss_minimax(l), l)
# (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(l), l)
# check_saturation_grads(g_mm.item(), g_ns.item())
# ```
# :::
#
# :::{exercise}
# :label: ch01-equilibrium-value
#
# (a) At the equilibrium $p_g = p_{\text{data}}$, what are $D^*(x)$, the value $C(G) = V(D^*, G)$ and the
# discriminator loss $L_D$? (b) If $p_g$ and $p_{\text{data}}$ have **disjoint** supports, what are
# $\mathrm{JSD}(p_{\text{data}} \,\|\, p_g)$ and $C(G)$? Check (b) with
# `ssgan_lib.exercises.ch01.check_disjoint(jsd, value)`. What does (b) mean for a generator whose samples are all
# slightly off the data?
# :::
#
# :::{solution} ch01-equilibrium-value
# :class: dropdown
#
# (a) $D^* \equiv \tfrac12$, $C = 2 \log \tfrac12 = -\log 4 \approx -1.386$ and $L_D = -C = \log 4 \approx 1.386$,
# the level that run A's D loss approaches.
#
# (b) With disjoint supports $D^* = 1$ on the data and $0$ on the fakes, so both terms of $V$ are $\log 1 = 0$:
# $C(G) = 0$ and $\mathrm{JSD} = (C + \log 4)/2 = \log 2$, its maximum.
# ```python
# import math
# from ssgan_lib.exercises.ch01 import check_disjoint
# check_disjoint(math.log(2), 0.0)
# ```
# $C(G) = 0$ for *every* generator with disjoint support, near the data or far from it: the value is flat, so
# against a perfect discriminator the generator has no gradient telling it which way the data is. Images lie
# near thin manifolds, where disjoint supports are the rule early in training (Arjovsky & Bottou 2017); this is
# why the discriminator must not be trained to optimality between generator steps.
# :::
#
# :::{exercise}
# :label: ch01-modes
#
# Write `count_modes(samples, centers, radius=0.25, min_frac=0.01)`: the number of centres that have at least
# `min_frac` of all samples within `radius`, each sample counted only for its *nearest* centre. Check it with
# `ssgan_lib.exercises.ch01.check_count_modes(count_modes)`. Then retrain run C with `z_dim=2` instead of 16:
# does it still collapse?
# :::
#
# :::{solution} ch01-modes
# :class: dropdown
#
# ```python
# import torch
# from ssgan_lib.exercises.ch01 import check_count_modes
#
# def count_modes(samples, centers, radius=0.25, min_frac=0.01):
#     d = torch.cdist(samples, centers)          # (n, modes)
#     near, which = d.min(dim=1)                 # nearest centre of each sample
#     counts = torch.bincount(which[near < radius], minlength=len(centers))
#     return int((counts >= min_frac * len(samples)).sum())
#
# check_count_modes(count_modes)
# ```
# For the second part, run C's settings with `z_dim=2`, on a few seeds (the chapter's run C is seed 0):
# ```python
# from ssgan_lib.gan import GANConfig, ToyDiscriminator, ToyGenerator, train_gan
#
# for seed in (0, 1, 2):
#     torch.manual_seed(seed)
#     G, D = ToyGenerator(z_dim=2), ToyDiscriminator()
#     cfg = GANConfig(steps=toy_steps, batch_size=64, n_fixed=1000, seed=seed,
#                     log_every=max(1, toy_steps // 100), progress=False,
#                     **runs["C: ns, lr 1e-4"])
#     h = train_gan(G, D, ring, cfg)
#     cov = [count_modes(s, centers) for s in h.snapshots]
#     print(f"seed {seed}: most modes {max(cov)}, at the end {cov[-1]}")
# show_snapshots(h, "run C with z_dim = 2", every=10)
# ```
# What to look for: the mode count at the end and over the last snapshots, against run C's (at most
# {glue:text}`c_max_cov` here). Expected answer: **no, it need not collapse**. With a 2-dimensional $z$ run C's
# settings (3,000 steps, the `cpu` and `full` length) can end covering all 8 modes; run it for two or three seeds
# and count. What it teaches: the collapse
# of run C is not a property of the loss or of the learning rate alone but of the whole setting — noise
# dimension, initialisation, seed and learning rate together decide whether the generator's samples spread out
# before the discriminator starts chasing them around the ring. Changing one detail that looks unrelated to the
# game is enough to turn run C's failure into a success, which is why a GAN result is reported with its whole
# configuration. If a seed of yours does collapse, that is the other lesson of this chapter: one GAN run is an
# anecdote.
# :::
#
# ## Further reading
#
# - I. Goodfellow. [*NIPS 2016 Tutorial: Generative Adversarial Networks*](https://arxiv.org/abs/1701.00160): the
#   game, the non-saturating loss, mode collapse and non-convergence explained at length by the author of the
#   original paper.
# - M. Arjovsky, L. Bottou. [*Towards Principled Methods for Training Generative Adversarial
#   Networks*](https://arxiv.org/abs/1701.04862): what the disjoint supports of
#   {ref}`ch01-equilibrium-value` do to the discriminator's gradients, worked out in full.
# - L. Metz, B. Poole, D. Pfau, J. Sohl-Dickstein. [*Unrolled Generative Adversarial
#   Networks*](https://arxiv.org/abs/1611.02163): the ring-of-Gaussians toy, and a generator that looks ahead at
#   the discriminator's next steps, a remedy for the chase of run C.
#
# ## References
#
# - I. Goodfellow, J. Pouget-Abadie, M. Mirza, B. Xu, D. Warde-Farley, S. Ozair, A. Courville, Y. Bengio.
#   [*Generative Adversarial Nets.*](https://arxiv.org/abs/1406.2661) NeurIPS 2014. (The game, $D^*$, the JSD theorem, the non-saturating loss.)
# - I. Goodfellow. [*NIPS 2016 Tutorial: Generative Adversarial Networks.*](https://arxiv.org/abs/1701.00160) arXiv:1701.00160, 2016. (Saturation,
#   mode collapse, the oscillation of simultaneous gradient descent.)
# - M. Arjovsky, L. Bottou. [*Towards Principled Methods for Training Generative Adversarial Networks.*](https://arxiv.org/abs/1701.04862) ICLR 2017.
#   (Disjoint supports, the divergence the non-saturating loss minimises.)
# - L. Metz, B. Poole, D. Pfau, J. Sohl-Dickstein. [*Unrolled Generative Adversarial Networks.*](https://arxiv.org/abs/1611.02163) ICLR 2017. (The
#   ring-of-Gaussians toy and mode hopping.)

# %%
print(run)
