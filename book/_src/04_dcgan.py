# %% [markdown]
# # 4. DCGAN
#
# **Learning goals**
#
# - Know the building blocks of the deep convolutional GAN of Radford et al. (2016): strided convolutions
#   instead of pooling, transposed convolutions to upsample, batch normalisation, ReLU in G and LeakyReLU in D.
# - Compute the output size of a convolution and of a transposed convolution, and design a generator that lands
#   exactly on $28 \times 28$.
# - Count parameters and see why the convolutional pair is several times smaller than the MLP pair.
# - Train DCGAN on MNIST with `train_gan` and compare it with the MLP GAN of [chapter 2](02_mlp_gan) after the same number of
#   steps: samples, diversity and class balance.

# %% [markdown]
# ## Running this chapter
#
# Sizes follow the machine: *cpu* without a GPU, *gpu* on one such as Colab's T4, *full* only when
# asked. The cell below (click to show it) sets the size and gives each size's expected training time;
# the run-info line at the end says how long this copy took.

# %% tags=["hide-cell"]
from ssgan_lib.evidence.runinfo import RunInfo, glue  # glue: numbers for the text

run = RunInfo("04 dcgan")
# channels of the first D layer (G: 2*width at 7x7)
width = run.pick(smoke=32, cpu=32, full=64)
dcgan = {
    "dcgan32": dict(smoke=1, cpu=1, gpu=0, full=0),
    "dcgan64": dict(smoke=0, cpu=0, gpu=1, full=1),
}
# generator updates (batch 64) for the DCGAN and for the MLP GAN
steps = run.size(
    smoke=80, cpu=500, gpu=10_000, full=10_000, work={**dcgan, "mlp_gan": 1}
)
# the ruler
fnet_steps = run.size(smoke=100, cpu=300, gpu=2000, full=2000, work="feature_net")
# samples per generator (diversity, classes)
n_eval = run.pick(smoke=500, cpu=1000, full=5000)
run.explain()

# %% [markdown]
# ## From dense layers to convolutions
#
# The MLP GAN of [chapter 2](02_mlp_gan) treats an image as a list of 784 numbers: its first layer has a separate weight for
# every pixel and every unit, and nothing tells it that neighbouring pixels belong together or that a stroke
# looks the same anywhere in the image. A **convolution** builds both facts in: a small kernel of
# $k \times k$ weights per pair of channels is slid over the image, so the same weights look at every position.
# With $c_{\text{in}}$ input and $c_{\text{out}}$ output channels a layer has
#
# $$ c_{\text{out}}\,(c_{\text{in}}\, k^2 + 1) $$
#
# parameters (the $+1$ is the bias of each output channel), independent of the image size.
#
# **Strided convolutions.** With stride $s$ the kernel moves $s$ pixels at a time. On an $n \times n$ input with
# padding $p$ the output side is
#
# $$ n_{\text{out}} = \Bigl\lfloor \frac{n + 2p - k}{s} \Bigr\rfloor + 1 . $$
#
# With $k = 4$, $s = 2$, $p = 1$ this halves an even side: $28 \to 14 \to 7$. Radford et al. replace every
# pooling layer with such a strided convolution, so that the network *learns* its own downsampling.
#
# **Transposed convolutions.** The generator must go the other way, from a small feature map to the full image.
# A transposed convolution is the gradient of a convolution with respect to its input: each input pixel *paints*
# a $k \times k$ patch of the output, weighted by the kernel, and patches of neighbouring pixels, $s$ apart,
# overlap and add. Its output side inverts the formula above:
#
# $$ n_{\text{out}} = (n - 1)\,s - 2p + k + \text{output\_padding} , $$
#
# where `output_padding` $< s$ resolves the ambiguity of the floor (several input sizes give the same convolution
# output). With $k = 4$, $s = 2$, $p = 1$: $7 \to 14 \to 28$, exactly twice the input. When $k$ is not a multiple
# of $s$ the patches overlap unevenly and the samples show a faint **checkerboard** (Odena et al. 2016); $k = 4$,
# $s = 2$ avoids it.
#
# **Batch normalisation** (Ioffe & Szegedy 2015) standardises each channel over the batch (and, for convolutions,
# over all positions), then rescales it with learned $\gamma, \beta$:
#
# $$ \operatorname{BN}(h) = \gamma\,\frac{h - \mu_{\mathcal B}}{\sqrt{\sigma^2_{\mathcal B} + \epsilon}} + \beta . $$
#
# It keeps the activations of deep generators in a range where gradients flow, and Radford et al. found it
# essential to get deep GANs to train at all; it also helps against the generator collapsing all samples to one
# point, because a collapsed batch has zero variance. It is **not** applied to G's output layer or D's input layer
# (that made samples oscillate in their experiments).
#
# **Activations.** G uses ReLU and a $\tanh$ output (pixels in $[-1, 1]$, so the data is scaled as $2x - 1$);
# D uses the leaky ReLU
#
# $$ \operatorname{LeakyReLU}(a) = \max(a, 0.2\,a) , $$
#
# which keeps a small gradient for negative inputs — D's gradient is the generator's only teacher, so dead units
# in D are lost signal for G.
#
# **The DCGAN guidelines** (Radford et al. 2016, section 3), all followed by `ssgan_lib.models`:
#
# 1. Strided convolutions in D and transposed (fractionally strided) convolutions in G; no pooling.
# 2. Batch norm in both networks, except G's output and D's input layers.
# 3. No fully connected hidden layers on top of convolutional features (our G starts with one dense layer that
#    reshapes $z$ into a $7 \times 7$ map, as the paper does; D ends with global average pooling and one logit).
# 4. ReLU in G (tanh at the output), LeakyReLU (slope 0.2) in D.
# 5. Adam with $\eta = 2\cdot10^{-4}$ and $\beta_1 = 0.5$ ([chapter 3](03_training_dynamics)), batches of 128 in the paper (64 here),
#    weights initialised from $\mathcal N(0, 0.02^2)$ in the paper (PyTorch's default initialisation here).

# %%
import time

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from ssgan_lib.data import load_mnist, validation_split
from ssgan_lib.gan import GANConfig, train_gan
from ssgan_lib.metrics import (
    class_histogram,
    classify_accuracy,
    diversity,
    roughness,
    train_feature_net,
)
from ssgan_lib.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    count_parameters,
)
from ssgan_lib.plots import show_samples

dev = run.device

# %% [markdown]
# ## The two networks, layer by layer
#
# The shapes below are traced through the library's networks with forward hooks, for one batch of two.

# %%
G = DCGANGenerator(width=width, out="tanh").to(dev)
D = DCGANDiscriminator(n_out=1, width=width).to(dev)


def trace(model: torch.nn.Module, x: torch.Tensor) -> list[tuple[str, str, int]]:
    rows, hooks = [], []
    for name, m in model.named_modules():
        if len(list(m.children())) == 0:
            hooks.append(
                m.register_forward_hook(
                    lambda mod, inp, out, name=name: rows.append((
                        name,
                        type(mod).__name__,
                        tuple((out[0] if isinstance(out, tuple) else out).shape[1:]),
                        sum(p.numel() for p in mod.parameters()),
                    ))
                )
            )
    model.eval()
    with torch.no_grad():
        model(x)
    model.train()
    for h in hooks:
        h.remove()
    return rows


table = [
    "| network | layer | type | output shape (per image) | parameters |",
    "|---|---|---|---|---|",
]
for net_name, model, inp in (
    ("G", G, G.sample_z(2, dev)),
    ("D", D, torch.zeros(2, 784, device=dev)),
):
    for name, kind, shape, n in trace(model, inp):
        table.append(f"| {net_name} | `{name}` | {kind} | {shape} | {n:,} |")
display(Markdown("\n".join(table)))

# %% [markdown]
# The generator's dense layer turns $z \in \mathbb R^{100}$ into $2w$ maps of $7 \times 7$ ($w$ is `width`), and
# two transposed convolutions ($k = 4$, $s = 2$, $p = 1$) double the side twice: $7 \to 14 \to 28$. The
# discriminator halves it: $28 \to 14 \to 7$ with $k = 4$, then $7 \to 4$ with $k = 3$, $s = 2$, $p = 1$
# ($\lfloor (7 + 2 - 3)/2 \rfloor + 1 = 4$); global average pooling turns the $4w \times 4 \times 4$ map into a
# $4w$-vector (the *features* that [chapter 6](06_improved_gan) uses for feature matching), and a dense layer gives the logit.
# The convolutions followed by batch norm have no bias: batch norm's $\beta$ would cancel it anyway.

# %%
mlp_G, mlp_D = MLPGenerator().to(dev), MLPDiscriminator().to(dev)
params = {"DCGAN G": count_parameters(G), "DCGAN D": count_parameters(D),
          "MLP G": count_parameters(mlp_G), "MLP D": count_parameters(mlp_D)}
display(
    Markdown(
        "| network | parameters |\n|---|---|\n"
        + "\n".join(f"| {k} | {v:,} |" for k, v in params.items())
    )
)
glue("p_dc_g", params["DCGAN G"], display=False)
glue("p_dc_d", params["DCGAN D"], display=False)
glue("p_mlp_g", params["MLP G"], display=False)
glue("p_mlp_d", params["MLP D"], display=False)
glue("p_ratio", (params["MLP G"] + params["MLP D"]) / (params["DCGAN G"] + params["DCGAN D"]), display=False)
glue("width", width, display=False)

# %% [markdown]
# With `width` $=$ {glue:text}`width` the DCGAN pair has {glue:text}`p_dc_g:,` (G) and {glue:text}`p_dc_d:,` (D)
# parameters against {glue:text}`p_mlp_g:,` and {glue:text}`p_mlp_d:,` for the MLP pair: the MLP pair is
# {glue:text}`p_ratio:.1f` times larger. Most of the DCGAN generator's weights sit in its first, dense layer; the
# convolutions themselves are cheap in parameters, but not in arithmetic: each kernel is applied at every
# position, so a convolutional step costs more time per parameter, especially on a CPU.
#
# ## Training both for the same number of steps
#
# Both GANs are trained with `train_gan` on all 60,000 training digits scaled to $[-1, 1]$, with the same
# optimizer (Adam, $\eta = 2\cdot10^{-4}$, $\beta_1 = 0.5$), batch size, seed and number of generator steps
# (`train_gan` is the plain loop of [chapter 1](01_gan_game), printed below, folded: nothing in it knows whether the networks
# are convolutional). The same small classifier as in [chapter 3](03_training_dynamics) measures the class balance of the samples.

# %% tags=["hide-output"]
import inspect

print(inspect.getsource(train_gan))

# %%
data = load_mnist(dev)
pool_idx, val_idx = validation_split(len(data.train_x), 5000, seed=0)
pool_x, pool_y = data.train_x[pool_idx.to(dev)], data.train_y[pool_idx.to(dev)]
val_x, val_y = data.train_x[val_idx.to(dev)], data.train_y[val_idx.to(dev)]
fnet = train_feature_net(pool_x, pool_y, steps=fnet_steps, seed=0)
fnet_acc = classify_accuracy(fnet, val_x, val_y)
glue("fnet_acc", 100 * fnet_acc, display=False)
print(f"feature net: {100 * fnet_acc:.2f} % on the validation split")

# %%
x_train = data.train_x * 2 - 1
cfg = GANConfig(
    steps=steps,
    log_every=max(1, steps // 40),
    snapshot_every=max(1, steps // 4),
    n_fixed=64,
    seed=0,
    progress=False,
)
results = {}
for name, (g, d) in {"DCGAN": (G, D), "MLP GAN": (mlp_G, mlp_D)}.items():
    torch.manual_seed(0)
    t0 = time.perf_counter()
    h = train_gan(g, d, x_train, cfg)
    seconds = time.perf_counter() - t0
    g.eval()
    with torch.no_grad():
        samples = (
            g(g.sample_z(n_eval, dev, torch.Generator(dev).manual_seed(123))) + 1
        ) / 2
    results[name] = dict(
        hist=h,
        samples=samples,
        ms_per_step=1000 * seconds / steps,
        diversity=diversity(samples),
        roughness=roughness(samples),
        classes=class_histogram(fnet, samples).cpu(),
    )
    print(
        f"{name}: {1000 * seconds / steps:.1f} ms per step, D(x) {h.d_real[-1]:.3f},"
        f" D(G(z)) {h.d_fake[-1]:.3f}"
    )

# %%
fig, axes = plt.subplots(2, 4, figsize=(7.2, 4.4))
for row, (name, r) in enumerate(results.items()):
    h = r["hist"]
    for col, (s, snap) in enumerate(zip(h.snapshot_steps, h.snapshots)):
        show_samples(snap[:36], nrow=6, ax=axes[row, col], title=f"{name}, step {s}")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure 4.1.** 36 samples of the same fixed noise batch at four snapshots of each run (the step is given above
# each grid): the DCGAN (top row) and the MLP GAN (bottom row).
#
# Both runs took {glue:text}`steps` steps. Below, the training curves of both runs and the class histograms of
# {glue:text}`n_eval` samples of each.

# %%
div_real = diversity(val_x[:n_eval])
rough_real = roughness(val_x[:n_eval])
hist_real = class_histogram(fnet, val_x[:n_eval]).cpu()
mosaic = plt.subplot_mosaic("AB;CC", figsize=(7.2, 6.4))[1]
axes = [mosaic["A"], mosaic["B"], mosaic["C"]]
fig = axes[0].figure
for i, (name, r) in enumerate(results.items()):
    h = r["hist"]
    axes[0].plot(h.step, h.d_loss, color=f"C{i}", label=name)
    axes[0].plot(h.step, h.g_loss, color=f"C{i}", ls="--")
    axes[1].plot(h.step, h.d_real, color=f"C{i}")
    axes[1].plot(h.step, h.d_fake, color=f"C{i}", ls="--")
axes[0].set_title("losses (solid: D, dashed: G)", fontsize=10)
axes[1].axhline(0.5, color="gray", lw=0.8, ls=":")
axes[1].set_ylim(0, 1)
axes[1].set_title("D(x) solid, D(G(z)) dashed", fontsize=10)
axes[0].set_ylabel("loss")
axes[1].set_ylabel("mean D output")
for ax in axes[:2]:
    ax.set_xlabel("step")
w = 0.27
bars = {"real (validation)": hist_real, **{k: r["classes"] for k, r in results.items()}}
for i, (name, hh) in enumerate(bars.items()):
    axes[2].bar(torch.arange(10) + (i - 1) * w, hh, width=w, label=name,
                color="k" if name.startswith("real") else f"C{i - 1}")
axes[2].axhline(0.1, color="gray", lw=0.8, ls="--")
axes[2].set_xticks(range(10))
axes[2].set_xlabel("digit assigned by the classifier")
axes[2].set_ylabel("fraction of samples")
axes[2].set_title("class balance", fontsize=10)
axes[2].legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
# one legend for the colours of the top row, above the panels, off the curves
fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=2, fontsize=9)
fig.tight_layout(rect=(0, 0, 1, 0.95))
plt.show()

# %% [markdown]
# **Figure 4.2.** Top left: the D loss (solid) and G loss (dashed) of the DCGAN (blue) and the MLP GAN (orange).
# Top right: their mean $D(x)$ (solid) and $D(G(z))$ (dashed); the dotted line marks $\tfrac12$. Bottom: the
# class histograms of the samples of each generator and of as many real validation digits (black), as assigned
# by the small classifier; the dashed line is the uniform 0.1.
#
# The histograms count {glue:text}`n_eval` samples of each generator. The table sums up the comparison:

# %% tags=["hide-input"]
tv = {k: 0.5 * float((hh - 0.1).abs().sum()) for k, hh in bars.items()}
rows = [
    "| | DCGAN | MLP GAN | real digits |",
    "|---|---|---|---|",
    (
        f"| parameters (G + D) | {params['DCGAN G'] + params['DCGAN D']:,} |"
        f" {params['MLP G'] + params['MLP D']:,} | – |"
    ),
    (
        f"| ms per step (this run's device) | {results['DCGAN']['ms_per_step']:.1f} | "
        f"{results['MLP GAN']['ms_per_step']:.1f} | – |"
    ),
    (
        f"| diversity | {results['DCGAN']['diversity']:.2f} |"
        f" {results['MLP GAN']['diversity']:.2f} | {div_real:.2f} |"
    ),
    (
        f"| class TV from uniform | {tv['DCGAN']:.3f} | {tv['MLP GAN']:.3f} |"
        f" {tv['real (validation)']:.3f} |"
    ),
    (
        f"| roughness | {results['DCGAN']['roughness']:.3f} |"
        f" {results['MLP GAN']['roughness']:.3f} | {rough_real:.3f} |"
    ),
]
display(
    Markdown(
        "\n".join(rows)
        + f"\n\n*{steps} steps each, {n_eval} samples each; mode {run.mode}.*"
    )
)

# %% tags=["remove-cell"]
# the numbers of the prose, and which generator is nearer to real digits on each measure
from ssgan_lib.evidence.study import spoken

real = {
    "diversity": div_real,
    "class TV": tv["real (validation)"],
    "roughness": rough_real,
}
of = {
    name: dict(diversity=r["diversity"], roughness=r["roughness"],
               **{"class TV": tv[name]})
    for name, r in results.items()
}
nearer = {
    k: min(of, key=lambda name: abs(of[name][k] - real[k])) for k in real
}
dc_nearer = [k for k in real if nearer[k] == "DCGAN"]
mlp_nearer = [k for k in real if nearer[k] != "DCGAN"]
if not mlp_nearer:
    nearer_text = "the DCGAN is the nearer of the two to real digits on all three"
elif not dc_nearer:
    nearer_text = "the MLP GAN is the nearer of the two to real digits on all three"
else:
    nearer_text = (
        f"the DCGAN is the nearer of the two to real digits on {spoken(dc_nearer)},"
        f" the MLP GAN on {spoken(mlp_nearer)}"
    )
rough_verdict = (
    "the DCGAN's samples are the nearer of the two to real digits in roughness"
    if nearer["roughness"] == "DCGAN"
    else "the MLP GAN's samples are the nearer of the two to real digits in roughness"
)
glue("steps", steps, display=False)
glue("n_eval", n_eval, display=False)
glue("div_dc", results["DCGAN"]["diversity"], display=False)
glue("div_mlp", results["MLP GAN"]["diversity"], display=False)
glue("div_real", div_real, display=False)
glue("tv_dc", tv["DCGAN"], display=False)
glue("tv_mlp", tv["MLP GAN"], display=False)
glue("tv_real", tv["real (validation)"], display=False)
glue("ms_dc", results["DCGAN"]["ms_per_step"], display=False)
glue("ms_mlp", results["MLP GAN"]["ms_per_step"], display=False)
glue("rough_dc", results["DCGAN"]["roughness"], display=False)
glue("rough_mlp", results["MLP GAN"]["roughness"], display=False)
glue("rough_real", rough_real, display=False)
glue("nearer", nearer_text, display=False)
glue("rough_verdict", rough_verdict, display=False)

# %% tags=["remove-cell"]
# the chapter's point, checked on this run's outputs (not at the smoke size, too short to draw digits): the
# convolutional generator's samples are about as smooth as real digits, the MLP generator's speckled
if not run.smoke:
    assert nearer["roughness"] == "DCGAN", of
    assert results["MLP GAN"]["roughness"] > 1.5 * rough_real, (of, rough_real)

# %% [markdown]
# After {glue:text}`steps` steps each: the DCGAN's samples have diversity {glue:text}`div_dc:.2f` and a class
# histogram at distance {glue:text}`tv_dc:.3f` from uniform; the MLP GAN's {glue:text}`div_mlp:.2f` and
# {glue:text}`tv_mlp:.3f`; real digits {glue:text}`div_real:.2f` and {glue:text}`tv_real:.3f` (the classifier is
# right on {glue:text}`fnet_acc:.1f` % of validation digits). A step took {glue:text}`ms_dc:.1f` ms for the DCGAN
# and {glue:text}`ms_mlp:.1f` ms for the MLP GAN on this run's device.
#
# What to look for in the grids: once its samples take shape, the convolutional generator draws **connected strokes of even width**,
# because a transposed convolution paints the same local pattern everywhere, and its errors are misshapen digits
# rather than the speckled, salt-and-pepper pixels that an MLP generator produces (each of its output pixels has
# its own weights, so nothing ties neighbours together). The table's last row puts a number on speckle:
# `metrics.roughness`, the mean absolute difference between neighbouring pixels (0 for a flat image, 1 for a
# checkerboard). Real digits score {glue:text}`rough_real:.3f`, the DCGAN's samples {glue:text}`rough_dc:.3f`, the
# MLP GAN's {glue:text}`rough_mlp:.3f`: {glue:text}`rough_verdict`. Diversity and class balance measure
# variety, not how a digit is drawn; [chapter 8](08_evaluating_generators) adds FID, which weighs both.
#
# ## What to watch for
#
# - **Output sizes that do not add up.** A generator that produces $32 \times 32$ or $27 \times 27$ images fails
#   only when the images meet the discriminator, or worse, is silently cropped. Trace the shapes (as above) before
#   training; the formulas above give every size.
# - **Batch norm at sampling time.** In training mode batch norm uses the statistics of the current batch, so a
#   sample depends on the other samples in its batch, and a batch of one is degenerate. Sample in `eval()` mode
#   (running statistics), as `train_gan`'s snapshots do, or always with large batches — and say which.
# - **Real and fake in separate batches for D.** DCGAN code (and `train_gan`) passes a batch of only real images
#   and a batch of only fake images through D separately, and that is the recommended practice: with batch norm
#   in D, a mixed batch would normalise real and fake images with shared statistics, so that each image's output
#   would depend on how many fakes happen to sit beside it. Separate batches have a price too: D's output for one
#   image still depends on the rest of its batch, which is all of one kind, so batch-level statistics can leak
#   "this batch is fake" into D's verdict. The usual remedies are *virtual batch normalisation* (Salimans et al.
#   2016: normalise with the statistics of a fixed reference batch of real images) and, in later GANs, no batch
#   norm in D at all (layer norm or spectral normalisation instead). Whichever convention you choose, keep it in
#   every D step, and evaluate D in `eval()` mode, where no batch statistics are used.
# - **Pixel ranges.** The tanh generator outputs $[-1, 1]$; the data must be scaled the same way ($2x - 1$), or
#   D separates real from fake by the pixel range alone.
# - **Checkerboards.** Transposed convolutions with a kernel size not divisible by the stride leave a grid pattern
#   in the samples; use $k = 4, s = 2$ or upsample-then-convolve.
# - **CPU time.** Convolutions are slow on a CPU, so the results shown on this page come from a short run (its
#   mode and length are in the run-info line at the end of the page). The `full` mode uses `width = 64` and many
#   more steps.
#
# ## Key takeaways
#
# - DCGAN builds both networks from convolutions: strided convolutions in $D$ instead of pooling, transposed
#   convolutions in $G$, batch norm (except at G's output and D's input), ReLU in $G$, LeakyReLU in $D$, and Adam
#   at $\eta = 2\cdot10^{-4}$, $\beta_1 = 0.5$.
# - A convolution's output side is $\lfloor (n + 2p - k)/s \rfloor + 1$, a transposed convolution's
#   $(n - 1)s - 2p + k + \text{output\_padding}$; with $k = 4$, $s = 2$, $p = 1$ the sides go $7 \to 14 \to 28$
#   in $G$ and $28 \to 14 \to 7$ in $D$ (then $7 \to 4$ with $k = 3$), as the traced layer table shows.
# - The same weights at every position make the convolutional pair small: {glue:text}`p_dc_g:,` (G) and
#   {glue:text}`p_dc_d:,` (D) parameters; the MLP pair has {glue:text}`p_ratio:.1f` times as many.
# - Nothing in `train_gan` changes. After {glue:text}`steps` steps each, one seed, the DCGAN's samples have
#   diversity {glue:text}`div_dc:.2f` and class TV {glue:text}`tv_dc:.3f`, the MLP GAN's {glue:text}`div_mlp:.2f`
#   and {glue:text}`tv_mlp:.3f`, real digits {glue:text}`div_real:.2f` and {glue:text}`tv_real:.3f`; with
#   roughness (speckle) beside them, {glue:text}`nearer`.
#
# ## Exercises
#
# :::{exercise}
# :label: ch04-conv-size
#
# Write `conv_size(n, kernel, stride, padding)` for the output side of `nn.Conv2d` on an $n \times n$ input and
# check it with `ssgan_lib.exercises.ch04.check_conv_size(conv_size)`. Which $(k, s, p)$ take the discriminator
# from $7 \times 7$ to $4 \times 4$, and why does $k = 4, s = 2, p = 1$ not?
# :::
#
# :::{solution} ch04-conv-size
# :class: dropdown
#
# ```python
# def conv_size(n, kernel, stride, padding):
#     return (n + 2 * padding - kernel) // stride + 1
#
# from ssgan_lib.exercises.ch04 import check_conv_size
# check_conv_size(conv_size)
# ```
# $k = 3, s = 2, p = 1$: $\lfloor (7 + 2 - 3)/2 \rfloor + 1 = 4$ (the library's choice); $k = 4, s = 2, p = 1$ gives
# $\lfloor 5/2 \rfloor + 1 = 3$. The floor means that some input rows are never the centre of a window.
# :::
#
# :::{exercise}
# :label: ch04-convtranspose-size
#
# Write `convtranspose_size(n, kernel, stride, padding, output_padding=0)` for `nn.ConvTranspose2d` and check it
# with `ssgan_lib.exercises.ch04.check_convtranspose_size(convtranspose_size)`. Then design a generator for
# $32 \times 32$ images (CIFAR-10) that starts from a $4 \times 4$ map, and one for $28 \times 28$ that starts from
# $4 \times 4$ (hint: `output_padding`, or a different kernel in one layer).
# :::
#
# :::{solution} ch04-convtranspose-size
# :class: dropdown
#
# ```python
# def convtranspose_size(n, kernel, stride, padding, output_padding=0):
#     return (n - 1) * stride - 2 * padding + kernel + output_padding
#
# from ssgan_lib.exercises.ch04 import check_convtranspose_size
# check_convtranspose_size(convtranspose_size)
# ```
# $32$: three layers with $k = 4, s = 2, p = 1$ give $4 \to 8 \to 16 \to 32$. $28$ from $4$: $k = 3, s = 2, p = 1$ and
# `output_padding = 0` gives $4 \to 7$ ($3 \cdot 2 - 2 + 3$), then $k = 4, s = 2, p = 1$ twice, $7 \to 14 \to 28$.
# Check any design by running a zero tensor through it and printing `.shape`.
# :::
#
# :::{exercise}
# :label: ch04-params
#
# Write `conv_params(c_in, c_out, kernel, bias)`, the number of trainable scalars of
# `nn.Conv2d(c_in, c_out, kernel, bias=bias)`, and check it with
# `ssgan_lib.exercises.ch04.check_conv_params(conv_params)`. Use it to recount the DCGAN discriminator's
# parameters from the layer table (do not forget batch norm's $\gamma$ and $\beta$), and compare with
# `count_parameters(D)`.
# :::
#
# :::{solution} ch04-params
# :class: dropdown
#
# ```python
# def conv_params(c_in, c_out, kernel, bias):
#     return c_out * c_in * kernel * kernel + (c_out if bias else 0)
#
# from ssgan_lib.exercises.ch04 import check_conv_params
# check_conv_params(conv_params)
#
# w = width
# n = (conv_params(1, w, 4, True) + conv_params(w, 2 * w, 4, False) + 2 * (2 * w)
#      + conv_params(2 * w, 4 * w, 3, False) + 2 * (4 * w)
#      + (4 * w + 1))  # last: the dense head
# print(n, count_parameters(D))
# ```
# :::
#
# :::{exercise}
# :label: ch04-batchnorm
#
# Sample 64 images from the trained DCGAN generator three ways: in `eval()` mode, in `train()` mode with a batch
# of 64, and in `train()` mode one image at a time (restore `eval()` and the running statistics afterwards — in
# training mode every forward also updates them). Compare the grids and their diversity. Which way is right?
# :::
#
# :::{solution} ch04-batchnorm
# :class: dropdown
#
# ```python
# import copy
# # a copy, so that the trained generator's running statistics stay untouched
# g = copy.deepcopy(G)
# z = g.sample_z(64, dev, torch.Generator(dev).manual_seed(0))
# with torch.no_grad():
#     g.eval()
#     a = g(z)
#     g.train()
#     b = g(z)
#     try:
#         c = torch.cat([g(z[i:i + 1]) for i in range(64)])
#     except ValueError as err:
#         print(err)
# print(diversity((a + 1) / 2), diversity((b + 1) / 2))
# ```
# In `train()` mode batch norm normalises with the statistics of the batch; with 64 images they are close to the
# running averages and the samples look alike to `eval()` mode. With one image per batch the dense layer's
# `BatchNorm1d` raises an error ("Expected more than 1 value per channel"), and the convolutional batch norm would
# normalise each image by its own statistics, washing out its contrast. Sampling in `eval()` mode is the
# reproducible choice: a sample then depends only on its own $z$.
# :::
#
# ## Further reading
#
# - A. Radford, L. Metz, S. Chintala. [*Unsupervised Representation Learning with Deep Convolutional Generative
#   Adversarial Networks*](https://arxiv.org/abs/1511.06434): the paper itself, for the reasons behind each
#   guideline and for its experiments with walks and arithmetic in the noise space.
# - V. Dumoulin, F. Visin. [*A guide to convolution arithmetic for deep learning*](https://arxiv.org/abs/1603.07285):
#   every combination of kernel, stride and padding drawn out, transposed convolutions included.
# - A. Odena, V. Dumoulin, C. Olah. [*Deconvolution and Checkerboard
#   Artifacts*](https://doi.org/10.23915/distill.00003): why uneven overlap leaves a grid in the samples, and
#   resize-then-convolve as the fix.
# - M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter. [*GANs Trained by a Two Time-Scale Update
#   Rule Converge to a Local Nash Equilibrium*](https://arxiv.org/abs/1706.08500): the paper that introduced FID,
#   the measure chapter 8 adds to diversity and class balance.
#
# ## References
#
# - A. Radford, L. Metz, S. Chintala. [*Unsupervised Representation Learning with Deep Convolutional Generative
#   Adversarial Networks*](https://arxiv.org/abs/1511.06434). ICLR 2016.
# - S. Ioffe, C. Szegedy. [*Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate
#   Shift*](https://arxiv.org/abs/1502.03167). ICML 2015.
# - V. Dumoulin, F. Visin. [*A guide to convolution arithmetic for deep learning*](https://arxiv.org/abs/1603.07285). arXiv:1603.07285 (the output-size
#   formulas, transposed convolutions).
# - A. Odena, V. Dumoulin, C. Olah. [*Deconvolution and Checkerboard Artifacts*](https://doi.org/10.23915/distill.00003). Distill, 2016.
# - A. L. Maas, A. Y. Hannun, A. Y. Ng. [*Rectifier Nonlinearities Improve Neural Network Acoustic Models*](https://ai.stanford.edu/~amaas/papers/relu_hybrid_icml2013_final.pdf). ICML
#   2013 workshop (the leaky ReLU).
# - I. Goodfellow et al. [*Generative Adversarial Nets*](https://arxiv.org/abs/1406.2661). NeurIPS 2014.
# - T. Salimans, I. Goodfellow, W. Zaremba, V. Cheung, A. Radford, X. Chen. [*Improved Techniques for Training
#   GANs*](https://arxiv.org/abs/1606.03498). NeurIPS 2016 (virtual batch normalisation).

# %%
print(run)
