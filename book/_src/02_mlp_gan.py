# %% [markdown]
# # 2. An MLP GAN on MNIST
#
# **Learning goals**
#
# - Build the classic fully connected GAN for MNIST: a 100-256-512-1024-784 generator with a tanh output and a
#   784-512-256-1 discriminator, and know why the data are scaled to $[-1, 1]$.
# - Train it with the non-saturating loss of [chapter 1](01_gan_game) and Adam at the DCGAN setting, using `train_gan`.
# - Follow the generator through training with samples of a **fixed** noise batch: a grid of snapshots and an
#   animation.
# - Read the loss curves and the discriminator's outputs of a run that works.

# %% [markdown]
# ## Running this chapter
#
# Sizes follow the machine: *cpu* without a GPU, *gpu* on one such as Colab's T4, *full* only when
# asked. The cell below (click to show it) sets the size and gives each size's expected training time;
# the run-info line at the end says how long this copy took.

# %% tags=["hide-cell"]
from ssgan_lib.evidence.runinfo import RunInfo, glue  # glue: numbers for the text

run = RunInfo("02 MLP GAN")
# generator updates (batch 64); 28,000 are about 30 epochs
steps = run.size(smoke=300, cpu=6000, gpu=28_000, full=28_000, work="mlp_gan")
run.explain()

# %% [markdown]
# ## From two dimensions to 784
#
# [Chapter 1](01_gan_game) trained a GAN on points in the plane. Nothing in the game changes for images: an MNIST digit is a
# point $x \in \mathbb R^{784}$ (28 × 28 grey values, flattened), the generator maps noise $z \sim \mathcal N(0,
# I_{100})$ to such a point, and the discriminator outputs a logit $\ell(x)$ with $D(x) = \sigma(\ell(x))$. The
# losses are those of chapter 1 (`ssgan_lib.losses`):
#
# $$ \begin{aligned}
#    L_D &= -\mathbb E_x \log D(x) - \mathbb E_z \log(1 - D(G(z))) \\
#        &= \mathbb E_x \operatorname{softplus}(-\ell(x)) + \mathbb E_z \operatorname{softplus}(\ell(G(z))),
#    \end{aligned} $$
#
# $$ L_G^{\text{ns}} = -\mathbb E_z \log D(G(z)) = \mathbb E_z \operatorname{softplus}(-\ell(G(z))) . $$
#
# Each training step draws a batch of 64 real digits and 64 noise vectors, takes one Adam step on $L_D$, then
# one on $L_G^{\text{ns}}$ against the updated discriminator (`gan.train_gan`).
#
# **The networks** (`models.MLPGenerator`, `models.MLPDiscriminator`), in the form found in most tutorials since
# Goodfellow et al. (2014):
#
# - $G$: $z \in \mathbb R^{100} \to 256 \to 512 \to 1024 \to 784$. Each hidden layer is linear, then batch norm
#   (not after the first layer, which sees the raw noise), then LeakyReLU with slope 0.2; the output layer is
#   linear, then $\tanh$.
# - $D$: $784 \to 512 \to 256 \to 1$ with LeakyReLU 0.2, no batch norm, and a single logit at the end (the
#   sigmoid lives inside the loss).
#
# **Why $[-1, 1]$.** The generator ends in $\tanh$, whose range is $(-1, 1)$, so the real images are mapped
# to the same range, $x \mapsto 2x - 1$ for pixels $x \in [0, 1]$. If real pixels lived in $[0, 1]$ while $G$
# could also draw negative values, the discriminator would have a trivial feature ("any pixel below 0 means
# fake"), and the generator would waste capacity learning the range. $\tanh$ is preferred over a sigmoid
# output because it is centred at 0 and its gradient at the origin is 4 times larger; MNIST's background, the
# majority of pixels, becomes $-1$, where the tanh saturates, which G reaches by pushing its pre-activations
# down.
#
# **Why LeakyReLU and batch norm.** A ReLU discriminator passes no gradient through units that are off; with
# LeakyReLU every unit passes at least $0.2$ of it, and the generator learns from every unit of $D$.
# Batch norm in $G$ keeps the activations of the deep generator well scaled at the start; it is left out of $D$
# here, so that $D$'s output on an image does not depend on the other images of its batch (real and fake
# batches go through $D$ separately).
#
# **Adam at $\eta = 2\cdot10^{-4}$, $\beta_1 = 0.5$** (Radford et al. 2016, `GANConfig`'s defaults) for both
# players. One *epoch* of MNIST is $60000 / 64 \approx 937$ steps.

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import HTML, Markdown, display

from ssgan_lib.data import load_mnist
from ssgan_lib.gan import GANConfig, train_gan
from ssgan_lib.metrics import diversity
from ssgan_lib.models import (
    MLPDiscriminator,
    MLPGenerator,
    count_parameters,
    layer_table,
)
from ssgan_lib.plots import (
    animate_snapshots,
    image_grid,
    plot_gan_history,
    show_samples,
)

dev = run.device

# %%
data = load_mnist(dev)
x_train = data.train_x * 2 - 1  # pixels from [0, 1] to [-1, 1], the range of tanh
print(
    "training images:",
    tuple(x_train.shape),
    "pixel range:",
    x_train.min().item(),
    x_train.max().item(),
)
show_samples(data.train_x[:32], nrow=16, title="real MNIST digits")
plt.show()

# %% [markdown]
# **Figure 2.1.** The first 32 MNIST training digits, shown with pixels in $[0, 1]$ (the copy the GAN trains on,
# `x_train`, is scaled to $[-1, 1]$).

# %%
torch.manual_seed(0)
G, D = MLPGenerator().to(dev), MLPDiscriminator().to(dev)
n_g, n_d = count_parameters(G), count_parameters(D)
display(Markdown("**The generator G**\n\n" + layer_table(G)))
display(Markdown("**The discriminator D**\n\n" + layer_table(D)))
glue("n_g", n_g)
glue("n_d", n_d)

# %% [markdown]
# The generator has {glue:text}`n_g:,` trainable parameters, the discriminator {glue:text}`n_d:,`: $G$ has the
# harder job (it must produce every pixel of a digit; $D$ only has to decide), and most of its parameters sit in
# the last layer, 1024 × 784.
#
# ## Training
#
# `train_gan` keeps a fixed batch of 64 noise vectors and saves $G$'s output on it twelve times during the run
# (with $G$ in evaluation mode, so that batch norm uses its running statistics). Because the noise is fixed, the
# same position in each grid shows the same $z$: one can follow a single sample as the generator changes. The
# loop is the one [chapter 1](01_gan_game) printed, unchanged: the data are MNIST now and the networks bigger, nothing else.

# %% tags=["hide-output"]
import inspect

print(inspect.getsource(train_gan))  # the whole training loop: a D step, then a G step

# %%
cfg = GANConfig(
    steps=steps,
    batch_size=64,
    lr_d=2e-4,
    lr_g=2e-4,
    betas=(0.5, 0.999),
    g_loss="ns",
    log_every=max(1, steps // 150),
    snapshot_every=max(1, steps // 12),
    n_fixed=64,
    seed=0,
    progress=False,
)
hist = train_gan(G, D, x_train, cfg)
print(
    f"{steps} steps in {run.elapsed():.0f} s so far; last log:\n"
    f"D loss {hist.d_loss[-1]:.3f}, G loss {hist.g_loss[-1]:.3f},"
    f" D(x) {hist.d_real[-1]:.3f}, D(G(z)) {hist.d_fake[-1]:.3f}"
)

# %%
n_snap = len(hist.snapshots)
cols = 4
rows = -(-n_snap // cols)
fig, axes = plt.subplots(
    rows, cols, figsize=(min(7.2, 1.75 * cols), 2.0 * rows + 0.3)
)
for ax in axes.flat:
    ax.set_axis_off()
for ax, s, st in zip(axes.flat, hist.snapshots, hist.snapshot_steps):
    ax.imshow(image_grid(s[:16], nrow=4), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"step {st}", fontsize=9)
fig.suptitle("G(z) for the same 16 noise vectors during training", fontsize=11)
fig.tight_layout()
plt.show()
glue("first_snap", hist.snapshot_steps[0])

# %% [markdown]
# **Figure 2.2.** The generator's outputs for the same 16 noise vectors (the first 16 of the fixed batch) at each
# snapshot of the run, titled with its step; a position in the grid is the same $z$ in every panel.
#
# The first snapshot, after {glue:text}`first_snap` steps, already shows bright blobs on a speckled
# background: the easy part of MNIST (most pixels are background, $-1$) is learnt first. Shapes that could be
# digits follow, then cleaner strokes with fewer stray pixels. In the first snapshots a position can turn from one
# digit into another as the generator changes; later most positions keep their digit and only its strokes
# improve. The same snapshots as an animation (Figure 2.3):

# %%
anim = animate_snapshots(
    hist.snapshots, hist.snapshot_steps, n=16, nrow=4, interval=600
)
HTML(anim.to_jshtml(default_mode="loop"))

# %% [markdown]
# **Figure 2.3.** The snapshots of Figure 2.2 as an animation, one frame per snapshot (the same 16 noise
# vectors), looping; the buttons under the image pause it and step through the frames.
#
# ## The end of the run

# %%
G.eval()
with torch.no_grad():
    z = G.sample_z(1000, dev, torch.Generator(dev).manual_seed(123))
    samples = G(z)
G.train()
show_samples(samples[:64], nrow=16, title=f"64 fresh samples after {steps} steps")
plt.show()
div_fake = diversity((samples + 1) / 2)  # back to [0, 1] pixels
div_real = diversity(data.train_x[:1000])
print(
    "diversity (mean distance between two samples, pixels in [0, 1]):\n"
    f"generated {div_fake:.2f}, real {div_real:.2f}"
)
glue("div_fake", div_fake)
glue("div_real", div_real)
glue("epochs", steps * 64 / 60_000)

# %% [markdown]
# **Figure 2.4.** 64 fresh samples (new noise vectors, the generator in evaluation mode) at the end of the run.
#
# After {glue:text}`epochs:.1f` epochs the samples are recognisable digits of several classes, with some broken
# strokes and blobs: an MLP sees no locality, every pixel is its own input ([chapter 4](04_dcgan) sets convolutional networks
# beside it). A number to compare with real data is the **diversity**, the mean Euclidean distance
# between two samples (`metrics.diversity`, [chapter 3](03_training_dynamics)): {glue:text}`div_fake:.2f` for 1000 generated digits,
# {glue:text}`div_real:.2f` for 1000 real ones. A collapsed generator would be far below the real value.
#
# The loss curves and the discriminator's outputs of the same run:

# %%
plot_gan_history(hist, "MLP GAN on MNIST")
plt.show()
tail = max(1, len(hist.step) // 10)
for key in ("d_loss", "g_loss", "d_real", "d_fake"):
    glue(f"{key}_end", sum(getattr(hist, key)[-tail:]) / tail)

# %% [markdown]
# **Figure 2.5.** The run's training history (`plot_gan_history`), one point per logging interval. Left: the D
# and G losses. Right: the discriminator's mean output on real batches, D(x), and on fake batches, D(G(z)); the
# dashed line marks ½.

# %% tags=["remove-cell"]
# "D stays ahead but does not win", "not collapsed": the prose's reading of this run, checked
d_real_end = sum(hist.d_real[-tail:]) / tail
d_fake_end = sum(hist.d_fake[-tail:]) / tail
if not run.smoke:
    assert d_real_end > d_fake_end > 0.1, (d_real_end, d_fake_end)
    assert div_fake > 0.7 * div_real, "the prose reads the diversity as no collapse"

# %% [markdown]
# Over the last tenth of the run the D loss averages {glue:text}`d_loss_end:.2f` and the G loss
# {glue:text}`g_loss_end:.2f`; the mean $D(x)$ on real batches is {glue:text}`d_real_end:.2f` and the mean
# $D(G(z))$ on fake batches {glue:text}`d_fake_end:.2f`. At the equilibrium of [chapter 1](01_gan_game) they would be
# $2\log 2 \approx 1.39$, $\log 2 \approx 0.69$, $\tfrac12$ and $\tfrac12$. The discriminator stays ahead — it
# separates the two batches better than chance — but it does not win: $D(G(z))$ does not fall to 0, so the
# generator keeps receiving useful gradients. This is how a healthy run of this GAN looks. Unlike the loss of a
# classifier, **neither loss goes down steadily**: each player's loss is measured against an opponent that keeps
# improving, so the curves say who is ahead, not how good the samples are. The samples have to be looked at.
#
# ## What to watch for
#
# - **Pixel range**: real data in $[0, 1]$ with a tanh generator (or $[-1, 1]$ with a sigmoid one) gives a
#   discriminator that wins by looking at the range; samples then look like grey noise or negatives. Check
#   `x.min(), x.max()` of both batches.
# - **Discriminator wins**: $D(x) \to 1$, $D(G(z)) \to 0$, D loss near 0, G loss growing. The samples stop
#   improving. Causes: a D learning rate too large relative to G's, or a bug in G's graph (e.g. the fake batch
#   detached in the G step, so that G gets no gradient at all).
# - **Mode collapse**: the grid shows the same digit (or the same few) for different $z$; diversity drops.
#   Compare sample grids at different steps: positions that all turn into the same digit are the warning.
# - **Evaluation mode**: batch norm in $G$ behaves differently in `train()` and `eval()` mode. Samples drawn in
#   train mode depend on the batch they are drawn with; draw snapshots in eval mode (as `train_gan` does), or
#   with large batches.
# - **Loss curves are not a progress bar**: a lower G loss does not mean better samples. Look at the samples of a
#   fixed noise batch.
#
# ## Key takeaways
#
# - Nothing in the game changes from points in the plane to 784-pixel images: the same losses and the same
#   `train_gan` loop as in chapter 1, with MNIST and bigger networks ({glue:text}`n_g:,` parameters in $G$,
#   {glue:text}`n_d:,` in $D$).
# - The generator ends in $\tanh$, so the real pixels are scaled to $[-1, 1]$ as well (the cell that loads MNIST,
#   above Figure 2.1, prints the range); otherwise $D$ could tell real from fake by the range alone.
# - Samples of a fixed noise batch show what the losses do not: the same $z$ can be followed from snapshot to
#   snapshot (Figure 2.2). After {glue:text}`epochs:.1f` epochs the samples have a diversity of
#   {glue:text}`div_fake:.2f`, against {glue:text}`div_real:.2f` for real digits (Figure 2.4).
# - Over the last tenth of the run the mean $D(x)$ is {glue:text}`d_real_end:.2f` and the mean $D(G(z))$
#   {glue:text}`d_fake_end:.2f`: $D$ stays ahead without winning, and neither loss goes down steadily
#   (Figure 2.5). GAN losses say who is ahead, not how good the samples are.
#
# ## Exercises
#
# :::{exercise}
# :label: ch02-scale
#
# Write `to_tanh(x)` that maps pixels from $[0, 1]$ to $[-1, 1]$, and its inverse `to_pixels(y)`. Check both with
# `ssgan_lib.exercises.ch02.check_scaling(to_tanh, to_pixels)`. What does a generated pixel of $-1$ look like in
# `show_samples`, and what does $0$ look like?
# :::
#
# :::{solution} ch02-scale
# :class: dropdown
#
# ```python
# from ssgan_lib.exercises.ch02 import check_scaling
#
# def to_tanh(x):
#     return x * 2 - 1
#
# def to_pixels(y):
#     return (y + 1) / 2
#
# check_scaling(to_tanh, to_pixels)
# ```
# $-1$ is black (background), $+1$ white (stroke) and $0$ mid-grey: a generator that outputs $0$ everywhere
# draws a grey square. `(x - 0.5) / 0.5` is the same map written as a normalisation with mean and standard
# deviation $0.5$.
# :::
#
# :::{exercise}
# :label: ch02-params
#
# Count the trainable parameters of the generator by hand: the weights and biases of the four linear layers and
# the scale and shift of the two batch-norm layers. Check your number with
# `ssgan_lib.exercises.ch02.check_generator_params(n)`. Which layer holds most of them?
# :::
#
# :::{solution} ch02-params
# :class: dropdown
#
# Linear layers: $100\cdot256 + 256$, $256\cdot512 + 512$, $512\cdot1024 + 1024$, $1024\cdot784 + 784$; batch
# norm: $2\cdot512$ and $2\cdot1024$ (running means and variances are buffers, not parameters).
# ```python
# from ssgan_lib.exercises.ch02 import check_generator_params
#
# n = ((100 * 256 + 256) + (256 * 512 + 512) + (512 * 1024 + 1024) + (1024 * 784 + 784)
#      + 2 * 512 + 2 * 1024)
# check_generator_params(n)   # 1,489,424
# ```
# The output layer, $1024 \cdot 784 + 784 = 803{,}600$, more than half.
# :::
#
# :::{exercise}
# :label: ch02-dloss
#
# In one step the discriminator gives a real digit $D(x) = 0.9$ and a fake one $D(G(z)) = 0.2$ (a batch of one
# each). Compute $L_D$ and the non-saturating $L_G^{\text{ns}}$ by hand, then with `ssgan_lib.losses` from the
# corresponding logits $\ell = \log\frac{D}{1 - D}$, and check with
# `ssgan_lib.exercises.ch02.check_step_losses(d_loss, g_loss)`.
# :::
#
# :::{solution} ch02-dloss
# :class: dropdown
#
# $$ \begin{aligned}
#    L_D &= -\log 0.9 - \log(1 - 0.2) \\
#        &\approx 0.105 + 0.223 = 0.329, \\
#    L_G^{\text{ns}} &= -\log 0.2 \approx 1.609.
#    \end{aligned} $$
#
# ```python
# import torch
# from ssgan_lib import losses
# from ssgan_lib.exercises.ch02 import check_step_losses
#
# logit = lambda p: torch.log(torch.tensor([p]) / (1 - torch.tensor([p])))
# d = losses.d_loss(logit(0.9), logit(0.2))
# g = losses.g_loss_nonsaturating(logit(0.2))
# check_step_losses(d, g)
# ```
# :::
#
# :::{exercise}
# :label: ch02-minimax
#
# Retrain the GAN of this chapter for a few hundred steps with `g_loss="minimax"`, once with the default
# learning rates and once with a discriminator that learns ten times faster (`lr_d=2e-3`). Compare the mean
# $D(G(z))$ (`hist.d_fake`) and the samples with those of the non-saturating loss at the same settings. When does
# the saturation of chapter 1 show?
# :::
#
# :::{solution} ch02-minimax
# :class: dropdown
#
# ```python
# for g_loss in ("ns", "minimax"):
#     for lr_d in (2e-4, 2e-3):
#         torch.manual_seed(0)
#         G, D = MLPGenerator().to(dev), MLPDiscriminator().to(dev)
#         cfg = GANConfig(steps=600, g_loss=g_loss, lr_d=lr_d, snapshot_every=300, seed=0,
#                         progress=False)
#         h = train_gan(G, D, x_train, cfg)
#         print(g_loss, lr_d, [round(v, 3) for v in h.d_fake[::2]])
#         show_samples(h.snapshots[-1][:32], nrow=16, title=f"{g_loss}, lr_d {lr_d}")
#         plt.show()
# ```
# What to look for: the mean $D(G(z))$ of each run (printed) and the sample grids. Saturation, chapter 1's
# failure, shows as a mean $D(G(z))$ that falls close to 0 and *stays* there while the minimax run's samples stop
# improving — its gradient on the logit is $-D(G(z))$, tiny exactly then — whereas the non-saturating run in
# the same position gets a gradient of $1 - D(G(z)) \approx 1$ and recovers.
#
# How to read your numbers. Saturation needs a discriminator that rejects the fakes *with confidence*: as long
# as the mean $D(G(z))$ stays well away from 0, the minimax gradient, $-D(G(z))$, is comparable in size to the
# non-saturating one, $-(1 - D(G(z)))$, and the two losses train alike. This chapter's non-saturating run at the
# default learning rates, for example, ends with a mean $D(G(z))$ of {glue:text}`d_fake_end:.2f` over its last
# tenth; a minimax run that stays near such a value does not saturate. Whether a ten times faster $D$ pushes the
# value towards 0 is what the exercise asks you to measure; it need not: $D$ takes one step per $G$ step, $G$
# answers each of them, and with Adam a step has about the size of the learning rate whatever the size of the
# gradient, so $G$ can keep up even when its gradient is smaller (chapter 1: "Adam helps too"). If your runs do
# not saturate, make $D$ win outright — train it alone first, take several $D$ steps per $G$ step, or use plain
# SGD for $G$, whose step *is* proportional to the vanishing gradient — and compare again. Check two or three
# seeds before you conclude.
# :::
#
# :::{exercise}
# :label: ch02-interpolate
#
# Take two noise vectors $z_0, z_1$ and show $G((1 - t) z_0 + t z_1)$ for $t = 0, 0.1, \dots, 1$ (in `G.eval()`
# mode). Does the digit change smoothly? What does it say about the generator that every point in between is a
# plausible image, or is not?
# :::
#
# :::{solution} ch02-interpolate
# :class: dropdown
#
# ```python
# g = torch.Generator(dev).manual_seed(7)
# z0, z1 = G.sample_z(1, dev, g), G.sample_z(1, dev, g)
# t = torch.linspace(0, 1, 11, device=dev).unsqueeze(1)
# G.eval()
# with torch.no_grad():
#     path = G((1 - t) * z0 + t * z1)
# G.train()
# show_samples(path, nrow=11, title="from z0 to z1")
# plt.show()
# ```
# A generator that has learnt a smooth map morphs one digit into the other through in-between shapes; a sudden
# jump from one digit to another at some $t$ marks a boundary between regions of $z$ that the generator sends
# to different classes. Linear paths between two Gaussian vectors of dimension 100 pass through points of
# smaller norm than the typical $\sqrt{100} = 10$ (the middle has norm about $7$), so images in the middle can be
# a little blurrier: they come from a region of $z$ the generator rarely saw.
# :::
#
# ## Further reading
#
# - A. Radford, L. Metz, S. Chintala. [*Unsupervised Representation Learning with Deep Convolutional Generative
#   Adversarial Networks*](https://arxiv.org/abs/1511.06434): the convolutional GAN of [chapter 4](04_dcgan), and where this
#   chapter's Adam setting, LeakyReLU and $[-1, 1]$ scaling come from.
# - I. Goodfellow. [*NIPS 2016 Tutorial: Generative Adversarial Networks*](https://arxiv.org/abs/1701.00160): a
#   longer introduction to GANs, their training and their failure modes.
# - T. Salimans, I. Goodfellow, W. Zaremba, V. Cheung, A. Radford, X. Chen. [*Improved Techniques for Training
#   GANs*](https://arxiv.org/abs/1606.03498): feature matching, minibatch discrimination and the semi-supervised
#   GAN that this book builds towards ([chapter 6](06_improved_gan)).
#
# ## References
#
# - I. Goodfellow, J. Pouget-Abadie, M. Mirza, B. Xu, D. Warde-Farley, S. Ozair, A. Courville, Y. Bengio.
#   [*Generative Adversarial Nets.*](https://arxiv.org/abs/1406.2661) NeurIPS 2014. (MLP generator and discriminator on MNIST.)
# - A. Radford, L. Metz, S. Chintala. [*Unsupervised Representation Learning with Deep Convolutional Generative
#   Adversarial Networks.*](https://arxiv.org/abs/1511.06434) ICLR 2016. (Adam with $\eta = 2\cdot10^{-4}$, $\beta_1 = 0.5$; LeakyReLU 0.2 in $D$;
#   tanh output with data in $[-1, 1]$.)
# - S. Ioffe, C. Szegedy. [*Batch Normalization.*](https://arxiv.org/abs/1502.03167) ICML 2015.
# - Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. [*Gradient-Based Learning Applied to Document Recognition.*](https://doi.org/10.1109/5.726791)
#   Proc. IEEE 1998. (MNIST.)
# - S. Chintala, E. Denton, M. Arjovsky, M. Mathieu. [*How to Train a GAN? Tips and tricks to make GANs work.*](https://github.com/soumith/ganhacks)
#   github.com/soumith/ganhacks, 2016.

# %%
print(run)
