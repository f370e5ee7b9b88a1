# %% [markdown]
# # 8. Evaluating generators
#
# **Learning goals**
#
# - Define the Fréchet Inception Distance (FID) of Heusel et al. (2017), compute it by hand from two feature sets,
#   and know why it needs a *feature network* (here an MNIST classifier the library trains itself).
# - Check a metric before trusting it: FID of real against held-out real must be small, and it must grow for
#   blurred, noisy, single-class and collapsed sets.
# - Look past one number: the class balance of the samples, their diversity, and a nearest-neighbour test for
#   memorisation.
# - See that a good *generator* and a good semi-supervised *classifier* are different goals: the feature-matching
#   SSGAN's discriminator and the same network trained on its 100 labels alone are compared on accuracy, and its
#   generator against a plain GAN's on FID (this chapter's runs measure both, at a length far short of the
#   paper's: one seed each for the SSGAN and the MLP GAN, two for the baseline; the accuracy is that of a short
#   run, not the paper's 99 %).

# %% [markdown]
# ## Running this chapter
#
# Sizes follow the machine: *cpu* without a GPU, *gpu* on one such as Colab's T4, *full* only when
# asked. The cell below (click to show it) sets the size and gives each size's expected training time;
# the run-info line at the end says how long this copy took.

# %% tags=["hide-cell"]
from ssgan_lib.evidence.runinfo import RunInfo, glue  # glue: numbers for the text

run = RunInfo("08 evaluating generators")
# batch 128
fnet_steps = run.size(smoke=100, cpu=500, gpu=3000, full=3000, work="feature_net")
# batch 64
gan_steps = run.size(smoke=100, cpu=2000, gpu=30_000, full=30_000, work="mlp_gan")
# the SSGAN and its supervised-only yardstick (600 steps = 1 epoch)
fm_steps = run.size(
    smoke=60, cpu=1200, gpu=18_000, full=18_000, work={"ssgan": 1, "supervised": 1}
)
# images per set for FID (validation has 5000)
n_fid = run.pick(smoke=500, cpu=4000, full=5000)
run.explain()

# %% [markdown]
# ## Why the losses are not a score
#
# The GAN losses of the earlier chapters measure one player against the other, and both players move. A falling
# generator loss can mean a better generator or a weaker discriminator. To compare two generators we need a
# score that looks only at the samples and at real data, with a fixed ruler. The log-likelihood is the textbook
# choice, but a GAN has none (its density is not available), and pixel-space distances reward blur. The
# measures used in practice compare the two sets of images in the feature space of a fixed, pretrained network.
#
# ## The Fréchet distance between two Gaussians
#
# Let $f(x) \in \mathbb R^d$ be the features of image $x$. Fit a Gaussian to the features of real images,
# $\mathcal N(\mu_r, \Sigma_r)$, and one to the features of generated images, $\mathcal N(\mu_g, \Sigma_g)$
# (sample mean and sample covariance). The Fréchet (2-Wasserstein) distance between the two Gaussians has a closed
# form, and FID is its square:
#
# $$ \operatorname{FID} = d^2 = \lVert \mu_r - \mu_g \rVert^2
#    + \operatorname{tr}\bigl(\Sigma_r + \Sigma_g - 2\,(\Sigma_r^{1/2}\,\Sigma_g\,\Sigma_r^{1/2})^{1/2}\bigr). $$
#
# The first term compares where the two clouds sit, the second their shape and spread. Papers often write
# $\operatorname{tr}(\Sigma_r\Sigma_g)^{1/2}$; the two traces are equal, and the symmetric form above is the one
# `ssgan_lib.metrics.frechet_distance` computes (in float64, with the square roots from symmetric
# eigendecompositions). In one dimension, with standard deviations $\sigma_r, \sigma_g$, it reduces to
#
# $$ d^2 = (\mu_r - \mu_g)^2 + (\sigma_r - \sigma_g)^2 , $$
#
# and for diagonal covariances it is that sum over the coordinates. FID is $0$ only when means and covariances
# agree; it says nothing about anything beyond the first two moments of the features.
#
# **The features.** Heusel et al. use the 2048-dimensional pool layer of an Inception-v3 network trained on
# ImageNet. That network has never seen a handwritten digit, so for MNIST the usual substitute is a small MNIST
# classifier; its penultimate layer knows which strokes make a digit. `ssgan_lib.metrics.MNISTFeatureNet` is such a
# network (two conv blocks, a 128-feature layer, 10 logits) and `train_feature_net` trains it here, on training
# images only, in a minute. Two consequences: FID values of this chapter are on *this* ruler, not comparable with
# Inception FIDs or with another feature network's; and they are comparable with each other only at the same sample
# size $n$, because the estimate from $n$ samples is biased upwards, by an amount that shrinks roughly like $1/n$.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from ssgan_lib.data import load_mnist, validation_split
from ssgan_lib.gan import GANConfig, train_gan
from ssgan_lib.metrics import (
    class_histogram,
    classify_accuracy,
    diversity,
    features,
    frechet_distance,
    nearest_neighbour_distances,
    roughness,
    train_feature_net,
)
from ssgan_lib.models import MLPDiscriminator, MLPGenerator
from ssgan_lib.plots import label_log_axis, show_samples
from ssgan_lib.engine import Every
from ssgan_lib import TrainConfig, Trainer

dev = run.device

# %% [markdown]
# ## The measuring instrument
#
# The 60,000 training images are split as in [chapter 6](06_improved_gan): 5,000 **validation** images, the rest the **pool**. The
# feature network trains on the labelled pool; the validation images are the *held-out real* set that every FID
# below compares against, and their labels measure the feature network's accuracy. The test set is not touched in
# this chapter.

# %%
data = load_mnist(dev)
pool_idx, val_idx = validation_split(len(data.train_x), 5000, seed=0)
pool_x, pool_y = data.train_x[pool_idx.to(dev)], data.train_y[pool_idx.to(dev)]
val_x, val_y = data.train_x[val_idx.to(dev)], data.train_y[val_idx.to(dev)]

fnet = train_feature_net(pool_x, pool_y, steps=fnet_steps, seed=0)
fnet_acc = classify_accuracy(fnet, val_x, val_y)
glue("fnet_acc", 100 * fnet_acc, display=False)
glue("fnet_steps", fnet_steps, display=False)
glue("n_fid", n_fid, display=False)
print(f"feature net: {fnet_steps} steps, validation accuracy {100 * fnet_acc:.2f} %")

# %% [markdown]
# After {glue:text}`fnet_steps` steps the feature network classifies {glue:text}`fnet_acc:.2f` % of the validation
# images correctly. It need not be perfect; it must be *fixed*: every FID in a comparison uses the same network.
#
# ## FID by hand, then with the library
#
# The formula is four lines of linear algebra. Here it is on the features of {glue:text}`n_fid` pool images
# against the {glue:text}`n_fid` validation images, next to the library's function.

# %%
f_val = features(fnet, val_x[:n_fid])  # (n, 128), float64
f_pool = features(fnet, pool_x[:n_fid])


def sqrtm_sym(a):  # square root of a symmetric positive semi-definite matrix
    vals, vecs = torch.linalg.eigh(a)
    return vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T


mu_r, mu_g = f_val.mean(0), f_pool.mean(0)
cov_r, cov_g = torch.cov(f_val.T), torch.cov(f_pool.T)
root_r = sqrtm_sym(cov_r)
fid_by_hand = float(
    (mu_r - mu_g).square().sum()
    + torch.trace(cov_r + cov_g - 2 * sqrtm_sym(root_r @ cov_g @ root_r))
)
print(f"by hand {fid_by_hand:.6f}   library {frechet_distance(f_val, f_pool):.6f}")

# %% [markdown]
# ## Sanity checks: does the ruler measure what we want?
#
# A metric earns trust by ranking sets whose quality we *know*. Each set below holds {glue:text}`n_fid` images
# and is compared with the validation images:
#
# - **real**: pool images (different images from the same distribution), the floor FID can reach at this $n$;
# - **blurred**: the same pool images through a 3×3 box filter (twice);
# - **pixel noise**: the same images plus Gaussian noise of standard deviation 0.25, clipped to $[0, 1]$;
# - **five classes**: pool images of digits 0–4 only (half the modes dropped);
# - **one class**: pool images of the digit 1 only (extreme mode collapse, every image still perfect);
# - **ten images**: ten pool images, repeated (a generator that memorised ten examples);
# - **uniform noise**: pixels drawn from $U(0, 1)$.

# %%
def blur(x, times=2):
    img = x.reshape(-1, 1, 28, 28)
    for _ in range(times):
        img = F.avg_pool2d(img, 3, stride=1, padding=1, count_include_pad=False)
    return img.reshape(len(x), -1)


g = torch.Generator(dev).manual_seed(1)
real = pool_x[:n_fid]
sets = {
    "real": real,
    "blurred": blur(real),
    "pixel noise": (
        (real + 0.25 * torch.randn(real.shape, device=dev, generator=g)).clamp(0, 1)
    ),
    "five classes": pool_x[pool_y < 5][:n_fid],
    "one class": pool_x[pool_y == 1][:n_fid],
    "ten images": pool_x[:10].repeat(n_fid // 10, 1),
    "uniform noise": torch.rand(real.shape, device=dev, generator=g),
}
feats = {name: features(fnet, x) for name, x in sets.items()}
fids = {name: frechet_distance(f_val, f) for name, f in feats.items()}
divs = {name: diversity(x) for name, x in sets.items()}
div_val = diversity(val_x)
for name in sets:
    print(f"{name:>14}: FID {fids[name]:9.2f}   diversity {divs[name]:.2f}")
print(f"{'validation':>14}: diversity {div_val:.2f}")

# %%
fig, axes = plt.subplots(
    1, 2, figsize=(7.2, 3.4), gridspec_kw={"width_ratios": [1.1, 1]}
)
ax = axes[0]
names = list(sets)
bars = ax.barh(
    names[::-1],
    [fids[n] for n in names[::-1]],
    color=["C2" if n == "real" else "C0" for n in names[::-1]],
)
ax.bar_label(bars, fmt="%.1f", padding=2, fontsize=9)
ax.set_xscale("log")
ax.set_xlim(0.5, 5 * max(fids.values()))
ax.set_xlabel("FID against the validation images\n(log scale)")
ax.set_title(f"sanity checks, n = {n_fid}")
ax = axes[1]
show_samples(torch.cat([x[:8] for x in sets.values()]), nrow=8, ax=ax,
             title="one row per set, in the order of the bars")
fig.tight_layout()
plt.show()

# %%
for name, key in (("real", "real"), ("blurred", "blur"), ("pixel noise", "pixnoise"), ("five classes", "five"),
                  ("one class", "one"), ("ten images", "ten"), ("uniform noise", "unif")):
    glue(f"fid_{key}", fids[name], display=False)
    glue(f"div_{key}", divs[name], display=False)
glue("div_val", div_val, display=False)
glue("blur_vs_noise", "more" if fids["blurred"] > fids["pixel noise"] else "less", display=False)

# %% tags=["remove-cell"]
# "the ranking is the one we want ... every degradation lifts FID far above that floor": checked
if not run.smoke:
    assert all(fids[k] > 5 * fids["real"] for k in fids if k != "real"), fids

# %% [markdown]
# **Figure 8.1.** Left: FID of each sanity-check set against the validation images (log scale, value at the end of
# each bar; green: real pool images, the floor). Right: the first eight images of each set, one row per set, in the
# order of the bars.
#
# The ranking is the one we want. Real against held-out real gives {glue:text}`fid_real:.2f`, not 0: two finite
# samples of the same distribution differ, and the estimator is biased upwards. Every degradation lifts FID far
# above that floor: {glue:text}`fid_blur:.1f` for blur, {glue:text}`fid_pixnoise:.1f` for pixel noise,
# {glue:text}`fid_five:.1f` with half the classes missing, {glue:text}`fid_one:.1f` for one class,
# {glue:text}`fid_ten:.1f` for ten repeated images and {glue:text}`fid_unif:.1f` for uniform noise. How *much* each
# defect costs depends on the feature network: this one, a digit classifier, finds blur
# {glue:text}`blur_vs_noise` costly than pixel noise, for example. Note the **one class** set: every image is a perfect digit,
# yet FID is large, because the mean and covariance of the features no longer match. FID punishes missing modes,
# which a per-image quality score cannot see.
#
# ### The bias of FID at small sample sizes
#
# The same comparison, real against held-out real, with fewer images per set:

# %%
ns = [n for n in (100, 250, 500, 1000, 2000, 5000) if n <= n_fid]
fid_real_n = [frechet_distance(f_val[:n], f_pool[:n]) for n in ns]
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(ns, fid_real_n, "o-")
ax.set_xscale("log")
ax.set_yscale("log")
label_log_axis(ax.xaxis, min(ns), max(ns))  # plain numbers: 100, 200, 500, ...
label_log_axis(ax.yaxis, min(fid_real_n), max(fid_real_n))
ax.set_xlabel("images per set n")
ax.set_ylabel("FID, real vs held-out real")
ax.set_title("the same distribution, estimated from n images")
ax.grid(True, which="both", alpha=0.3)
fig.tight_layout()
plt.show()
glue("fid_real_small", fid_real_n[0], display=False)
glue("n_small", ns[0], display=False)

# %% [markdown]
# **Figure 8.2.** FID of pool images against validation images, both real, against the number of images per set $n$
# (both axes logarithmic). The distribution is the same at every $n$; only the estimate changes, and it falls
# steadily as $n$ grows.
#
# With {glue:text}`n_small` images per set two samples of the *same* distribution already score
# {glue:text}`fid_real_small:.1f`. FID values are comparable only at equal $n$ (and equal feature network). Report
# both with every FID.
#
# ## Class balance and diversity
#
# Two cheaper views complement FID:
#
# - the **class histogram**: the fraction of samples the feature network assigns to each digit
#   (`class_histogram`). Real MNIST is close to uniform; a generator that drops digits shows bars at 0. Its distance
#   from uniform can be summarised by the total variation $\tfrac12\sum_k \lvert h_k - \tfrac1K\rvert$
#   (0 for perfect balance, $1 - \tfrac1K$ when every sample is one class);
# - the **diversity**: the mean pairwise distance $\frac{1}{n(n-1)}\sum_{i\ne j}\lVert x_i - x_j\rVert$ between
#   samples, in pixels (`diversity`). It falls towards 0 under mode collapse. The validation images give the
#   reference: {glue:text}`div_val:.2f`. The "ten images" set has {glue:text}`div_ten:.2f`, the "one class" set
#   {glue:text}`div_one:.2f`; uniform noise has *more* diversity ({glue:text}`div_unif:.2f`) than real digits, which
#   is why diversity alone is never a quality score.
#
# ## Two generators
#
# Now the real question: how good are the generators of the earlier chapters? We train, briefly,
#
# 1. the **MLP GAN** of [chapter 2](02_mlp_gan) (`train_gan` with `MLPGenerator` / `MLPDiscriminator`, pixels scaled to
#    $[-1, 1]$, non-saturating loss) on the pool images, and
# 2. the **feature-matching SSGAN** of [chapter 6](06_improved_gan) (`Trainer`, method `"ssgan-fm"`, 100 labels), whose
#    discriminator is a 10-class classifier and whose generator is trained only to match the batch mean of an inner
#    D layer.

# %%
torch.manual_seed(0)
G_gan, D_gan = MLPGenerator().to(dev), MLPDiscriminator().to(dev)
gan_hist = train_gan(
    G_gan, D_gan, pool_x * 2 - 1, GANConfig(steps=gan_steps, seed=0, progress=False)
)
G_gan.eval()
with torch.no_grad():
    x_gan = (
        G_gan(G_gan.sample_z(n_fid, dev, torch.Generator(dev).manual_seed(2))) + 1
    ) / 2  # back to [0, 1]

# %% [markdown]
# We watch the SSGAN's classifier and its generator together while it trains: a callback (`Every(period, fn)`,
# passed to `Trainer.fit`) runs every `period` steps, evaluates the averaged discriminator on the validation
# images (their labels are hidden from training) and computes FID on {glue:text}`n_track` generated images
# (compare these FIDs only with each other: the table below uses {glue:text}`n_fid`).

# %%
cfg = TrainConfig(
    labels=100, method="ssgan-fm", steps=fm_steps, eval_every=0, device=dev, seed=1
)
tr = Trainer(cfg, data=data, progress=False)
n_track = min(1000, n_fid)
glue("n_track", n_track, display=False)

# %%
track = {"step": [], "val_acc": [], "fid": []}


def watch():  # every `period` steps: the classifier and the generator, side by side
    with torch.no_grad():
        x_track = tr.G(tr.G.sample_z(n_track, dev))[0]
    track["step"].append(tr.step)
    track["val_acc"].append(tr.evaluate("val")[0])
    track["fid"].append(frechet_distance(f_val[:n_track], features(fnet, x_track)))


points = run.pick(smoke=2, cpu=6, full=6)
tr.fit(callbacks=[Every(fm_steps // points, watch)])
with torch.no_grad():
    # (seeds=1, n, 784) -> (n, 784), pixels in [0, 1]
    x_fm = tr.G(tr.G.sample_z(n_fid, dev))[0]
fm_acc = track["val_acc"][-1]

fig, ax1 = plt.subplots(figsize=(6, 3.2))
ax1.plot(track["step"], [100 * a for a in track["val_acc"]], "o-", color="C0")
ax1.set_xlabel("SSGAN step")
ax1.set_ylabel("validation accuracy (%)", color="C0")
ax2 = ax1.twinx()
ax2.plot(track["step"], track["fid"], "s--", color="C3")
ax2.set_ylabel(f"FID of G (n = {n_track})", color="C3")
ax1.set_title("feature-matching SSGAN: classifier and generator")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure 8.3.** The feature-matching SSGAN while it trains: validation accuracy of the averaged discriminator
# (blue circles, left axis) and FID of the generator's samples (red squares, dashed, right axis, at the $n$ given in
# the axis label) at each check.
#
# Over this run the accuracy {glue:text}`acc_course` and the FID {glue:text}`fid_course`; the FID stays far above
# the real-vs-real floor of Figure 8.2.
#
# Is {glue:text}`fm_acc:.1f` % good for 100 labels? The yardstick is the same discriminator (same noise, weight
# norm, averaging) trained for the same number of steps on the same 100 labels alone, method `"supervised"`. It is
# the book's one supervised-only protocol, literally [chapter 5](05_sgan)'s run: seeds 1 and 2 trained side by side
# (`seeds=2`), the same steps, the averaged discriminator read on the validation split at the last step. We read
# seed 1, which labels the same 100 images and starts from the same weights as the SSGAN run above (a two-seed run
# draws its noise and batch order from one generator, so its seed 1 is not bit for bit a one-seed run of seed 1).

# %%
sup = Trainer(
    TrainConfig(
        labels=100,
        method="supervised",
        steps=fm_steps,
        eval_every=0,
        device=dev,
        seed=1,
        seeds=2,
    ),
    data=data,
    progress=False,
)
sup.fit()
sup_acc, sup_acc2 = sup.evaluate("val")  # seeds 1 and 2
glue("sup_acc", 100 * sup_acc, display=False)
print(
    f"validation accuracy: FM SSGAN {100 * fm_acc:.2f} %, supervised only"
    f" {100 * sup_acc:.2f} % (seed 2: {100 * sup_acc2:.2f} %)"
)

# %%
gen = {"MLP GAN": x_gan, "FM SSGAN": x_fm}
for name, x in gen.items():
    feats[name] = features(fnet, x)
    fids[name] = frechet_distance(f_val, feats[name])
    divs[name] = diversity(x)
hists = {
    "validation (real)": class_histogram(fnet, val_x[:n_fid]).cpu(),
    "MLP GAN": class_histogram(fnet, x_gan).cpu(),
    "FM SSGAN": class_histogram(fnet, x_fm).cpu(),
}
tv = {k: 0.5 * float((h - 0.1).abs().sum()) for k, h in hists.items()}

mosaic = plt.subplot_mosaic("AB;CC", figsize=(7.2, 5.6))[1]
axes = [mosaic["A"], mosaic["B"], mosaic["C"]]
fig = axes[0].figure
show_samples(x_gan[:48], nrow=8, ax=axes[0], title=f"MLP GAN, {gan_steps} steps")
show_samples(x_fm[:48], nrow=8, ax=axes[1], title=f"FM SSGAN, {fm_steps} steps")
w = 0.27
for i, (name, h) in enumerate(hists.items()):
    axes[2].bar(torch.arange(10) + (i - 1) * w, h, width=w, label=name)
axes[2].axhline(0.1, color="gray", lw=0.8, ls="--")
axes[2].set_xticks(range(10))
axes[2].set_xlabel("class assigned by the feature network")
axes[2].set_ylabel("fraction of samples")
axes[2].legend(fontsize=9)
axes[2].set_title("class balance")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure 8.4.** Top: 48 samples of the MLP GAN (left) and of the feature-matching SSGAN's generator (right), each
# after the number of steps in its title. Bottom: the fraction of samples that the feature network assigns to each
# digit, for validation images and for the two generators; the dashed line is a uniform 1/10. The MLP GAN's samples
# are speckled with noise, the FM SSGAN's faint and blurred; the FM SSGAN's histogram piles up on a few classes,
# with several others near 0. The table below gives the numbers
# behind both, with the real pool and the supervised-only baseline.

# %%
rows = [
    "| set | FID | diversity | class TV from uniform | validation accuracy of D |",
    "|---|---|---|---|---|",
]
tv["real"] = 0.5 * float((class_histogram(fnet, real).cpu() - 0.1).abs().sum())
rows.append(
    f"| real (pool) | {fids['real']:.2f} | {divs['real']:.2f} | {tv['real']:.3f} | – |"
)
rows.append(
    f"| MLP GAN | {fids['MLP GAN']:.2f} | {divs['MLP GAN']:.2f} | {tv['MLP GAN']:.3f} |"
    " – (D is not a classifier) |"
)
rows.append(
    f"| FM SSGAN | {fids['FM SSGAN']:.2f} | {divs['FM SSGAN']:.2f} |"
    f" {tv['FM SSGAN']:.3f} | {100 * fm_acc:.2f} % |"
)
rows.append(f"| supervised only (no G) | – | – | – | {100 * sup_acc:.2f} % |")
display(
    Markdown(
        "\n".join(rows)
        + f"\n\n*{n_fid} images per set against the {n_fid} validation images; feature"
        f" network: {fnet_steps} steps, {100 * fnet_acc:.2f} % validation accuracy;"
        f" mode {run.mode}.*"
    )
)

# %%
glue("fid_gan", fids["MLP GAN"], display=False)
glue("fid_fm", fids["FM SSGAN"], display=False)
glue("div_gan", divs["MLP GAN"], display=False)
glue("div_fm", divs["FM SSGAN"], display=False)
glue("tv_gan", tv["MLP GAN"], display=False)
glue("tv_fm", tv["FM SSGAN"], display=False)
glue("tv_real", tv["real"], display=False)
glue("fm_acc", 100 * fm_acc, display=False)
glue("fm_acc_first", 100 * track["val_acc"][0], display=False)
glue("fid_fm_first", track["fid"][0], display=False)
glue("fid_fm_last", track["fid"][-1], display=False)
glue("gan_steps", gan_steps, display=False)
glue("fm_steps", fm_steps, display=False)
glue("fm_vs_gan", "higher" if fids["FM SSGAN"] > fids["MLP GAN"] else "lower", display=False)
glue("fm_vs_gan_ratio", fids["FM SSGAN"] / fids["MLP GAN"], display=False)

# %% tags=["remove-cell"]
# the comparisons the prose makes, in words computed from the runs
glue("sup_acc2", 100 * sup_acc2, display=False)
gap, spread = 100 * (fm_acc - sup_acc), 100 * abs(sup_acc - sup_acc2)
if abs(gap) <= spread:
    glue("fm_vs_sup", f"The gap, {abs(gap):.2f} points, is within the {spread:.2f}"
         " points between the two supervised seeds: in this short run there is no"
         " measurable difference.", display=False)
    glue("fm_vs_sup_short", "no measurable difference, the gap being within the two"
         " supervised seeds' spread", display=False)
else:
    glue("fm_vs_sup", f"The SSGAN is {'ahead' if gap > 0 else 'behind'} by"
         f" {abs(gap):.2f} points, more than the {spread:.2f} points between the two"
         " supervised seeds (the SSGAN has one seed: a hint, not a measurement).", display=False)
    glue("fm_vs_sup_short", f"{'ahead' if gap > 0 else 'behind'} by more than the two"
         " supervised seeds' spread", display=False)


def course(v, steps, fmt):
    """How a tracked series went, in words: start, end and an extremum inside."""
    hi = max(range(len(v)), key=v.__getitem__)
    lo = min(range(len(v)), key=v.__getitem__)
    a, b = fmt(v[0]), fmt(v[-1])
    if 0 < hi < len(v) - 1:
        return (f"rises from {a} to a maximum of {fmt(v[hi])} at step {steps[hi]:,},"
                f" then falls to {b}")
    if 0 < lo < len(v) - 1:
        return (f"falls from {a} to a minimum of {fmt(v[lo])} at step {steps[lo]:,},"
                f" then rises to {b}")
    return f"{'rises' if v[-1] > v[0] else 'falls'} from {a} to {b}"


glue("acc_course",
     course(track["val_acc"], track["step"], lambda x: f"{100 * x:.1f} %"),
     display=False)
glue("fid_course", course(track["fid"], track["step"], lambda x: f"{x:.1f}"),
     display=False)

# %% tags=["remove-cell"]
# the goals and the prose below say what these runs showed: checked, so that a re-run contradicting them fails
if not run.smoke:
    assert fids["FM SSGAN"] > fids["MLP GAN"], "prose: the FM SSGAN's FID is the worse one"
    assert min(track["fid"]) > 10 * fids["real"], "caption: FID far above the floor"
    assert divs["FM SSGAN"] < divs["MLP GAN"] and tv["FM SSGAN"] > tv["MLP GAN"], (
        "prose: diversity and class balance tell the same story as FID"
    )

# %% [markdown]
# After {glue:text}`gan_steps` steps the MLP GAN reaches FID {glue:text}`fid_gan:.1f`; after {glue:text}`fm_steps`
# steps the feature-matching SSGAN's generator has FID {glue:text}`fid_fm:.1f`, which is
# {glue:text}`fm_vs_gan` ({glue:text}`fm_vs_gan_ratio:.2f` times the MLP GAN's), while its discriminator
# classifies {glue:text}`fm_acc:.2f` % of the validation images correctly with 100 labels; the same network
# trained on the labels alone reaches {glue:text}`sup_acc:.2f` % (seed 1; seed 2: {glue:text}`sup_acc2:.2f` %).
# {glue:text}`fm_vs_sup` (A short run: [chapter 7](07_label_rate) gives the long ones.) While it trained, the accuracy
# {glue:text}`acc_course` and the generator's FID {glue:text}`fid_course` (at $n =$ {glue:text}`n_track`,
# Figure 8.3).
#
# The other two views tell the same story in more detail. Diversity: {glue:text}`div_gan:.2f` for the MLP GAN,
# {glue:text}`div_fm:.2f` for the FM SSGAN, {glue:text}`div_val:.2f` for real digits. Distance of the class
# histogram from uniform: {glue:text}`tv_gan:.3f` for the MLP GAN, {glue:text}`tv_fm:.3f` for the FM SSGAN, and
# {glue:text}`tv_real:.3f` for real pool images. Low diversity and a lopsided
# histogram are the signature of a generator that covers only part of the data; the sample grids above show which.
#
# ### A long-trained feature-matching generator
#
# The FM SSGAN above trained for {glue:text}`fm_steps` steps. Does a feature-matching generator become a good one
# by these measures if it trains much longer? The book ships the networks of a long run of [chapter 6](06_improved_gan)'s recipe
# (`trained_model`, chapter 6: 100 labels, the averaged $D$ and the $G$), so the same ruler can be held to it in a
# second.

# %%
from ssgan_lib.evidence import trained_model

D_ship, G_ship, ship = trained_model("final-300-seed1", device=dev)
with torch.no_grad():
    z = G_ship.sample_z(n_fid, dev, torch.Generator(dev).manual_seed(2))
    x_ship = G_ship(z)[0]
ship_acc = classify_accuracy(
    lambda x: D_ship(x.unsqueeze(0), train=False)[0][0], val_x, val_y
)
fids["shipped"] = frechet_distance(f_val, features(fnet, x_ship))
divs["shipped"] = diversity(x_ship)
tv["shipped"] = 0.5 * float((class_histogram(fnet, x_ship).cpu() - 0.1).abs().sum())
fig, ax = plt.subplots(figsize=(3.6, 3.0))
show_samples(x_ship[:48], nrow=8, ax=ax, title=f"shipped G, epoch {ship['epochs']:.0f}")
plt.show()
rows = [
    "| generator | FID | diversity | class TV from uniform"
    " | validation accuracy of D |",
    "|---|---|---|---|---|",
    f"| FM SSGAN, this chapter ({fm_steps} steps) | {fids['FM SSGAN']:.2f} |"
    f" {divs['FM SSGAN']:.2f} | {tv['FM SSGAN']:.3f} | {100 * fm_acc:.2f} % |",
    f"| FM SSGAN, shipped (epoch {ship['epochs']:.0f} of {ship['epochs_planned']:.0f})"
    f" | {fids['shipped']:.2f} | {divs['shipped']:.2f} | {tv['shipped']:.3f} |"
    f" {100 * ship_acc:.2f} % |",
    f"| MLP GAN ({gan_steps} steps) | {fids['MLP GAN']:.2f} | {divs['MLP GAN']:.2f} |"
    f" {tv['MLP GAN']:.3f} | – |",
]
note = f"*{n_fid} images per set, the same ruler as above.*"
display(Markdown("\n".join(rows) + "\n\n" + note))
glue("ship_epochs8", f"{ship['epochs']:.0f}", display=False)
glue("ship_acc8", 100 * ship_acc, display=False)
glue("fid_ship", fids["shipped"], display=False)
glue("ship_vs_fm", "lower" if fids["shipped"] < fids["FM SSGAN"] else "not lower",
     display=False)
glue("ship_vs_gan", "lower" if fids["shipped"] < fids["MLP GAN"] else "higher",
     display=False)
glue("rough_ship", roughness(x_ship), display=False)
glue("rough_gan8", roughness(x_gan), display=False)
glue("rough_val8", roughness(val_x[:n_fid]), display=False)

# %% [markdown]
# **Figure 8.5.** 48 samples of the shipped feature-matching generator (the epoch in the title).
#
# After {glue:text}`ship_epochs8` epochs the shipped discriminator classifies {glue:text}`ship_acc8:.2f` % of the
# validation images, and its generator's FID is {glue:text}`fid_ship:.1f`: {glue:text}`ship_vs_fm` than this
# chapter's short FM run, and {glue:text}`ship_vs_gan` than the MLP GAN's after {glue:text}`gan_steps` steps. So
# how long a generator trained moves FID as much as how it is trained: the MLP GAN here is a short run too, and no
# long MLP GAN is stored, so this table does not say which loss makes the better generator at equal length. The
# samples' speckle has a number as well ([chapter 4](04_dcgan)'s `roughness`, the mean difference between neighbouring pixels):
# {glue:text}`rough_ship:.3f` for the shipped generator, {glue:text}`rough_gan8:.3f` for the MLP GAN,
# {glue:text}`rough_val8:.3f` for real digits.
#
# ## Memorisation: nearest training images
#
# A generator that copies its training set would get an excellent FID. The check: for each sample find the nearest
# training image in pixel space (`nearest_neighbour_distances`) and look at both. As a yardstick, do the same for
# the held-out validation images — genuinely new digits. If the samples sat much *closer* to the training set than
# new real digits do, they would be copies.

# %%
n_nn = run.pick(smoke=100, cpu=300, full=1000)
nearest = {
    "validation (real, unseen)": nearest_neighbour_distances(val_x[:n_nn], pool_x),
    "MLP GAN": nearest_neighbour_distances(x_gan[:n_nn], pool_x),
    "FM SSGAN": nearest_neighbour_distances(x_fm[:n_nn], pool_x),
}
mosaic = plt.subplot_mosaic("AA;BC", figsize=(7.2, 6.0))[1]
axes = [mosaic["A"], mosaic["B"], mosaic["C"]]
fig = axes[0].figure
for name, (d, _) in nearest.items():
    axes[0].hist(d.cpu(), bins=30, alpha=0.5, label=name)
axes[0].set_xlabel("distance to the nearest training image (pixels, L2)")
axes[0].set_ylabel("samples")
axes[0].legend(fontsize=9)
axes[0].set_title("nearest-neighbour distances")
for ax, name, x in ((axes[1], "MLP GAN", x_gan), (axes[2], "FM SSGAN", x_fm)):
    _, idx = nearest[name]
    # row 1: samples, row 2: their neighbours
    pairs = torch.stack([x[:8], pool_x[idx[:8]]]).reshape(16, -1)
    show_samples(
        pairs,
        nrow=8,
        ax=ax,
        title=f"{name}\ntop: samples, bottom: nearest training image",
    )
fig.tight_layout()
plt.show()
med = {k: float(d.median()) for k, (d, _) in nearest.items()}
print("median distance to the nearest training image:")
for name, d in med.items():
    print(f"  {name:26s} {d:.2f}")
glue("nn_val", med["validation (real, unseen)"], display=False)
glue("nn_gan", med["MLP GAN"], display=False)
glue("nn_fm", med["FM SSGAN"], display=False)

# %% tags=["remove-cell"]
# "small GANs trained briefly are far from [memorising]": checked
if not run.smoke:
    assert min(med["MLP GAN"], med["FM SSGAN"]) > 0.5 * med["validation (real, unseen)"]

# %% [markdown]
# **Figure 8.6.** Top: histograms of the pixel (L2) distance from each image to its nearest training image, for unseen
# validation images and for samples of the two generators. Bottom: eight samples of each generator (upper row) above
# their nearest training images (lower row). No histogram has a spike at 0, and none of the pairs shown is a copy.
#
# The median distance to the nearest training image is {glue:text}`nn_val:.2f` for unseen real digits,
# {glue:text}`nn_gan:.2f` for the MLP GAN and {glue:text}`nn_fm:.2f` for the FM SSGAN. A memorising generator
# would show a spike near 0 and pairs that are pixel-for-pixel equal; small GANs trained briefly are far from that.
# Pixel distance is a blunt tool in both directions: a copy shifted by one pixel is "far", and a faint, blurry,
# average-looking blob is "near" many thin training digits without copying any of them (look at the FM SSGAN's
# pairs). Read the pairs, not only the histogram.
#
# ## Generators and classifiers: two different goals
#
# Salimans et al. (2016) report that with **feature matching** the semi-supervised classifier is excellent but
# the samples look worse than those of their generator trained with minibatch discrimination, which gave the
# opposite: nicer samples, a worse classifier (the paper's comparison; this book does not train minibatch
# discrimination). Dai et al. (2017) explained it: a *perfect* generator would not help the
# classifier at all, because fakes indistinguishable from real data give the "real vs fake" part of the loss
# nothing to learn. What helps is a **complement generator**, one that puts samples in the low-density gaps
# *between* the classes, so that D must draw its decision boundaries through those gaps. Such samples are, by
# design, not realistic digits. In this chapter's short runs FID agrees (the FM SSGAN's is {glue:text}`fm_vs_gan`
# than the MLP GAN's); the shipped generator above shows how much of such a comparison is training length.
#
# So the two numbers answer different questions. FID asks "does $p_g$ match $p_{\text{data}}$?", the validation
# accuracy asks "does D separate the classes?". For a semi-supervised GAN, report the accuracy (on held-out data,
# chosen on the validation split); report FID when the generator is the product.
#
# ## What to watch for
#
# - **Comparing FIDs across rulers.** A different feature network, a different $n$, a different reference set
#   (training vs validation images) or a different resizing each change FID. Compare numbers only when all of these
#   agree; write them next to the number.
# - **The small-$n$ bias.** FID falls as $n$ grows, for the same generator. Ranking two models measured at different
#   $n$ can flip the ranking.
# - **A feature net trained on the test set.** The measuring instrument must not see the images it will later
#   measure against, and the test set never chooses. Here it trains on the pool and is checked on the validation
#   split.
# - **FID ≈ real-vs-real is not proof of quality.** A generator that copies the training set reaches it; check
#   nearest neighbours. Conversely an FID far above the floor may still come with a good classifier (FM SSGAN).
# - **Mode dropping hides in sample grids.** 48 pictures rarely show that one digit is missing; the class histogram
#   of thousands of samples does.
# - **Batch norm at sampling time.** The MLP generator is sampled in eval mode (running statistics), the FM
#   SSGAN's generator ([chapter 6](06_improved_gan)'s) always with batch statistics, as it was trained. Sampling a batch-norm generator in the wrong mode, or with
#   a batch of 1, changes its samples and its FID.
#
# ## Key takeaways
#
# - FID is the squared Fréchet distance between Gaussians fitted to the features of a fixed network; four lines of
#   linear algebra give the library's value. Its numbers belong to their ruler: here an MNIST classifier's
#   features, not Inception's.
# - Check the ruler before trusting it: real against held-out real gives {glue:text}`fid_real:.2f`, and every
#   degraded set lies far above that floor, the one-class set of perfect digits included
#   ({glue:text}`fid_one:.1f`, Figure 8.1).
# - FID is biased upwards at small $n$: two samples of the same distribution score {glue:text}`fid_real_small:.1f`
#   with {glue:text}`n_small` images each (Figure 8.2). Compare FIDs only at equal $n$ and with the same feature
#   network.
# - A classifier and a generator are different goals. In this chapter's short runs the FM SSGAN's discriminator
#   classified {glue:text}`fm_acc:.2f` % of the validation images against {glue:text}`sup_acc:.2f` % for the labels
#   alone ({glue:text}`fm_vs_sup_short`), while its generator's FID was {glue:text}`fm_vs_gan`
#   ({glue:text}`fm_vs_gan_ratio:.2f` times the MLP GAN's), with less diversity and a more lopsided class histogram
#   (Figure 8.4). The shipped FM generator, after {glue:text}`ship_epochs8` epochs, has FID
#   {glue:text}`fid_ship:.1f`, {glue:text}`ship_vs_gan` than the short MLP GAN's (Figure 8.5): compare generators
#   at equal training length.
# - No single number settles it: uniform noise has more diversity ({glue:text}`div_unif:.2f`) than real digits
#   ({glue:text}`div_val:.2f`), and only the nearest-neighbour check can expose a copying generator; the samples here
#   sit no closer to the training set than unseen real digits do (Figure 8.6).
#
# ## Exercises
#
# :::{exercise}
# :label: ch08-frechet-1d
#
# Write `frechet_1d(mu1, sigma1, mu2, sigma2)` that returns the squared Fréchet distance between the 1-D Gaussians
# $\mathcal N(\mu_1, \sigma_1^2)$ and $\mathcal N(\mu_2, \sigma_2^2)$, by specialising the FID formula to $d = 1$.
# Check it with `ssgan_lib.exercises.ch08.check_frechet_1d(frechet_1d)`.
# :::
#
# :::{solution} ch08-frechet-1d
# :class: dropdown
#
# With $d = 1$ the matrices are numbers:
#
# $$
# \begin{aligned}
# \operatorname{tr}\bigl(\Sigma_1 + \Sigma_2 - 2(\Sigma_1\Sigma_2)^{1/2}\bigr)
#   &= \sigma_1^2 + \sigma_2^2 - 2\sigma_1\sigma_2 \\
#   &= (\sigma_1 - \sigma_2)^2 .
# \end{aligned}
# $$
#
# ```python
# def frechet_1d(mu1, sigma1, mu2, sigma2):
#     return (mu1 - mu2) ** 2 + (sigma1 - sigma2) ** 2
#
# from ssgan_lib.exercises.ch08 import check_frechet_1d
# check_frechet_1d(frechet_1d)
# ```
# A common slip is $(\sigma_1^2 - \sigma_2^2)^2$: the covariance term compares standard deviations.
# :::
#
# :::{exercise}
# :label: ch08-frechet-diag
#
# For Gaussians with **diagonal** covariances, `frechet_diag(mu1, var1, mu2, var2)` takes 1-D tensors of means and
# variances and returns one number. Write it without any matrix square root, check it with
# `ssgan_lib.exercises.ch08.check_frechet_diag(frechet_diag)`, then compare it with
# `ssgan_lib.metrics.frechet_distance` on samples of two diagonal Gaussians. Why do the two agree only approximately?
# :::
#
# :::{solution} ch08-frechet-diag
# :class: dropdown
#
# Diagonal matrices commute, so $(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2} = \operatorname{diag}(\sqrt{v_1 v_2})$:
# ```python
# import torch
# from ssgan_lib.metrics import frechet_distance
#
# def frechet_diag(mu1, var1, mu2, var2):
#     return ((mu1 - mu2) ** 2).sum() + (var1 + var2 - 2 * (var1 * var2).sqrt()).sum()
#
# from ssgan_lib.exercises.ch08 import check_frechet_diag
# check_frechet_diag(frechet_diag)
#
# mu1, mu2 = torch.zeros(4), torch.ones(4)
# var1, var2 = torch.tensor([1.0, 2.0, 0.5, 1.0]), torch.tensor([1.0, 0.5, 0.5, 3.0])
# a = mu1 + torch.randn(50_000, 4) * var1.sqrt()
# b = mu2 + torch.randn(50_000, 4) * var2.sqrt()
# print(float(frechet_diag(mu1, var1, mu2, var2)), frechet_distance(a, b))
# ```
# `frechet_distance` uses the *sample* means and covariances, whose off-diagonal entries are small but not zero;
# the difference shrinks like $1/n$ — the same bias that makes real-vs-real FID positive.
# :::
#
# :::{exercise}
# :label: ch08-class-tv
#
# Write `class_tv(hist)`, the total-variation distance $\tfrac12\sum_k\lvert h_k - \tfrac1K\rvert$ between a class
# histogram (as returned by `class_histogram`) and the uniform distribution over its $K$ classes. Check it with
# `ssgan_lib.exercises.ch08.check_class_tv(class_tv)`. What is its value for the "one class" and "five classes" sets
# of this chapter, and what does the table above give for the two generators?
# :::
#
# :::{solution} ch08-class-tv
# :class: dropdown
#
# ```python
# def class_tv(hist):
#     return 0.5 * (hist - 1 / len(hist)).abs().sum()
#
# from ssgan_lib.exercises.ch08 import check_class_tv
# check_class_tv(class_tv)
# ```
# One class: $\tfrac12(0.9 + 9 \times 0.1) = 0.9$; five equal classes: $\tfrac12(5 \times 0.1 + 5 \times 0.1) = 0.5$
# (up to the feature network's few mistakes). The generators' values are in the table's fourth column.
# :::
#
# :::{exercise}
# :label: ch08-memorise
#
# Build a "generator" that returns random training images from the pool. Compute its FID against the validation
# images (with `n_fid` images), its diversity and its nearest-neighbour distances. Which of the chapter's checks
# exposes it, and which are fooled?
# :::
#
# :::{solution} ch08-memorise
# :class: dropdown
#
# ```python
# idx = torch.randint(len(pool_x), (n_fid,), device=dev)
# copies = pool_x[idx]
# print(frechet_distance(f_val, features(fnet, copies)), diversity(copies))
# d, j = nearest_neighbour_distances(copies[:300], pool_x)
# print(float(d.max()), bool((j == idx[:300]).all()))
# ```
# FID is at the real-vs-real floor, the diversity and class balance are those of real data: all fooled. Only the
# nearest-neighbour check exposes it, with every distance 0 and every neighbour the copied image itself.
# :::
#
# ## Further reading
#
# - A. Borji. [*Pros and cons of GAN evaluation measures*](https://arxiv.org/abs/1802.03446). Computer Vision and
#   Image Understanding 179 (2019): a survey of the measures beyond FID, with what each one can and cannot see.
# - L. Theis, A. van den Oord, M. Bethge. [*A note on the evaluation of generative models*](https://arxiv.org/abs/1511.01844).
#   ICLR 2016: why log-likelihood, sample quality and nearest-neighbour tests can disagree, so that a model must be
#   judged for the use it is meant for.
# - M. S. M. Sajjadi, O. Bachem, M. Lucic, O. Bousquet, S. Gelly. [*Assessing Generative Models via Precision and
#   Recall*](https://arxiv.org/abs/1806.00035). NeurIPS 2018: splits the one number of FID into sample quality and
#   coverage of the data, the two ways this chapter's generators fall short.
#
# ## References
#
# - M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter. [*GANs Trained by a Two Time-Scale Update
#   Rule Converge to a Local Nash Equilibrium*](https://arxiv.org/abs/1706.08500). NeurIPS 2017 (FID).
# - D. C. Dowson, B. V. Landau. [*The Fréchet distance between multivariate normal distributions*](https://doi.org/10.1016/0047-259X%2882%2990077-X). Journal of
#   Multivariate Analysis 12 (1982).
# - T. Salimans, I. Goodfellow, W. Zaremba, V. Cheung, A. Radford, X. Chen. [*Improved Techniques for Training
#   GANs*](https://arxiv.org/abs/1606.03498). NeurIPS 2016 (feature matching; the Inception score).
# - Z. Dai, Z. Yang, F. Yang, W. W. Cohen, R. Salakhutdinov. [*Good Semi-supervised Learning That Requires a Bad
#   GAN*](https://arxiv.org/abs/1705.09783). NeurIPS 2017.
# - L. Theis, A. van den Oord, M. Bethge. [*A note on the evaluation of generative models*](https://arxiv.org/abs/1511.01844). ICLR 2016.
# - M. J. Chong, D. Forsyth. [*Effectively Unbiased FID and Inception Score and where to find them*](https://arxiv.org/abs/1911.07023). CVPR 2020
#   (the bias in $n$).
# - M. Lucic, K. Kurach, M. Michalski, S. Gelly, O. Bousquet. [*Are GANs Created Equal? A Large-Scale Study*](https://arxiv.org/abs/1711.10337).
#   NeurIPS 2018.
# - A. Borji. [*Pros and cons of GAN evaluation measures*](https://arxiv.org/abs/1802.03446). Computer Vision and Image Understanding 179 (2019).

# %%
print(run)
