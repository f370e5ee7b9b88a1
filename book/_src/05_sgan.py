# %% [markdown]
# # 5. The semi-supervised GAN with K+1 classes
#
# **Learning goals**
#
# - Turn a GAN discriminator into a classifier with $K+1$ outputs, where class $K+1$ means "fake", and see why
#   unlabelled images then teach the classifier something (Odena 2016; Salimans et al. 2016, section 5).
# - Write the SGAN losses of the discriminator and the generator from logits, stably.
# - Recognise four traps found in public SGAN code — a softmax before the cross-entropy, "semi-supervised" code
#   that uses every label, per-sample feature matching, and picking the best epoch on the test set — and test for
#   each of them.
# - Run the SGAN with 100 labels against a supervised-only baseline with the same labels and the same network.

# %% [markdown]
# ## Running this chapter
#
# Sizes follow the machine: *cpu* without a GPU, *gpu* on one such as Colab's T4, *full* only when
# asked. The cell below (click to show it) sets the size and gives each size's expected training time;
# the run-info line at the end says how long this copy took.

# %% tags=["hide-cell"]
from ssgan_lib.evidence.runinfo import RunInfo, glue  # glue: numbers for the text

run = RunInfo("05 sgan")
# SGAN and supervised-only runs, 100 labels (600 steps = 1 epoch; the paper: 300 epochs)
steps = run.size(
    smoke=150, cpu=1200, gpu=60_000, full=180_000, work={"sgan": 1, "supervised": 1}
)
run.explain(saves_runs=True)

# %% [markdown]
# ## The idea
#
# A GAN's discriminator $D$ answers one question: real or fake? A classifier answers another: which of the
# $K$ classes? The semi-supervised GAN (SGAN) asks both at once. Its discriminator has $K+1$ outputs with logits
# $\ell(x) = (\ell_1(x), \dots, \ell_{K+1}(x))$ and class probabilities
#
# $$ p(k \mid x) = \operatorname{softmax}(\ell(x))_k = \frac{e^{\ell_k(x)}}{\sum_{j=1}^{K+1} e^{\ell_j(x)}}, $$
#
# where classes $1,\dots,K$ are the real digits and class $K+1$ is "made by the generator". Three kinds of
# images train it:
#
# - a **labelled** image $(x, y)$ must get its class $y$;
# - an **unlabelled** real image $x$ must get *some* real class: $1 - p(K{+}1 \mid x)$ should be large;
# - a **generated** image $G(z)$ must get class $K+1$.
#
# The unlabelled images carry no class, but they still shape the features: to tell real digits from the
# generator's near-misses, $D$ must learn what digits look like, and the class head reads those features. With
# 100 labels and 60,000 unlabelled images, that is where most of the learning signal comes from.
#
# ## The losses
#
# The discriminator minimises (`ssgan_lib.losses.sgan_d_loss`, with $\mathbb E$ a batch mean)
#
# $$ L_D = -\mathbb E_{(x,y)} \log p(y \mid x)
#          - \mathbb E_x \log\bigl(1 - p(K{+}1 \mid x)\bigr)
#          - \mathbb E_z \log p(K{+}1 \mid G(z)). $$
#
# The first term is the ordinary supervised cross-entropy (`supervised_loss`); the other two are the unsupervised
# part (`sgan_unsupervised_loss`), a GAN discriminator loss whose "real" probability is $1 - p(K{+}1 \mid x)$.
# Computed stably, $\log(1 - p(K{+}1 \mid x)) = \log \sum_{k \le K} p(k \mid x)$ is a `logsumexp` of the first $K$
# log-probabilities — never `log(1 - p)`, which is $-\infty$ once $p$ rounds to 1.
#
# The generator plays the non-saturating game (`sgan_g_loss`): its images should look like *some* real class,
#
# $$ L_G = -\mathbb E_z \log\bigl(1 - p(K{+}1 \mid G(z))\bigr). $$
#
# At test time the fake class is ignored: the prediction is $\arg\max_{k \le K} \ell_k(x)$.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from ssgan_lib import losses
from ssgan_lib.data import balanced_subset, load_mnist, validation_split
from ssgan_lib.plots import plot_history, show_samples
from ssgan_lib import TrainConfig, Trainer

data = load_mnist(run.device)

# %% [markdown]
# A quick check that the loss does what the formula says, on random logits with $K = 10$ digit classes plus the
# fake class (shape `(seeds, batch, K+1)`, as the library's trainer uses):

# %%
torch.manual_seed(0)
K = 10
lab, unl, fake = (
    torch.randn(1, 8, K + 1),
    torch.randn(1, 8, K + 1),
    torch.randn(1, 8, K + 1),
)
y = torch.randint(0, K, (1, 8))
p_unl, p_fake = unl.softmax(-1), fake.softmax(-1)
by_formula = (-lab.log_softmax(-1).gather(-1, y.unsqueeze(-1)).mean()
              - torch.log(1 - p_unl[..., K]).mean() - torch.log(p_fake[..., K]).mean())
print("formula (naive):", by_formula.item())
print("library        :", losses.sgan_d_loss(lab, y, unl, fake).item())
extreme = torch.zeros(1, 1, K + 1)
extreme[..., K] = 200.0  # an unlabelled real image that D is sure is fake
naive = torch.log(1 - extreme.softmax(-1)[..., K]).item()
# the library's form: log(1 - p_fake) = logsumexp of the K real log-probabilities
stable = torch.logsumexp(extreme.log_softmax(-1)[..., :K], -1).item()
print(f"log(1 - p_fake) at an extreme logit, naive: {naive} | logsumexp: {stable:.3f}")
unl_loss = losses.sgan_unsupervised_loss(extreme, torch.zeros(1, 1, K + 1)).item()
print(f"the library's unsupervised loss there: {unl_loss:.3f}\n"
      f"  (= {-stable:.3f} + log 11, the term of a fake with zero logits)")

# %% [markdown]
# The naive form gives $-\infty$ (and NaN gradients) as soon as $D$ is confident; the `logsumexp` form, which the
# library uses, gives the correct large, finite value, and with it a finite loss.
#
# ## Trap 1: a softmax before the cross-entropy
#
# `torch.nn.CrossEntropyLoss` and `F.cross_entropy` take **logits**: they apply `log_softmax` themselves. Many
# public SGAN repositories end the discriminator with `nn.Softmax` and then call `CrossEntropyLoss` on its output.
# The code runs, the loss goes down, and it is wrong: the loss now treats probabilities $p \in [0, 1]$ as logits,
#
# $$ \operatorname{CE}(\operatorname{softmax}(\ell), y) = -p_y + \log \sum_k e^{p_k}, $$
#
# which can never go below $\log(K - 1 + e) - 1$ (reached at $p_y = 1$) nor above $\log(K - 1 + e)$ (reached when
# another class has probability 1). The loss is *squashed* into a band of width 1, and its gradient with respect to
# the logits is multiplied by the softmax Jacobian, which vanishes as soon as the network is confident — right or
# wrong.

# %%
margins = torch.linspace(-10, 10, 201)
logits = torch.zeros(len(margins), K)
# class 0 is the true class; its logit is `margin` above the others
logits[:, 0] = margins
logits.requires_grad_(True)
target = torch.zeros(len(margins), dtype=torch.long)
curves = {}
for name, f in (
    ("correct: CE(logits)", lambda l: F.cross_entropy(l, target, reduction="none")),
    (
        "bug: CE(softmax(logits))",
        lambda l: F.cross_entropy(l.softmax(-1), target, reduction="none"),
    ),
):
    loss = f(logits)
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    curves[name] = (loss.detach(), grad[:, 0].detach())

fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.2, 3.4))
for name, (loss, grad) in curves.items():
    a1.plot(margins, loss, label=name)
    a2.plot(margins, grad, label=name)
a1.set_xlabel("true-class logit minus the others")
a1.set_ylabel("loss")
a1.set_title("the loss")
a2.set_xlabel("true-class logit minus the others")
a2.set_ylabel(r"$\partial L / \partial \ell_y$")
a2.set_title("its gradient on the true-class logit")
a1.legend(fontsize=9)
fig.tight_layout()
plt.show()

floor = torch.log(torch.tensor(K - 1 + torch.e)).item() - 1
bug_wrong = curves["bug: CE(softmax(logits))"]
glue("ch05_ce_floor", floor)
glue("ch05_bug_loss_wrong", bug_wrong[0][0].item())
glue("ch05_ok_loss_wrong", curves["correct: CE(logits)"][0][0].item())
glue("ch05_bug_grad_wrong", bug_wrong[1][0].abs().item())
print(
    f"floor of the buggy loss: {floor:.4f}\n"
    f"its value when the true class is 10 logits *behind*: {bug_wrong[0][0]:.4f}"
    f" (correct loss: {curves['correct: CE(logits)'][0][0]:.4f})"
)

# %% [markdown]
# **Figure 5.1.** Left: the cross-entropy of one image against the margin by which its true-class logit exceeds the
# other nine (all equal), computed on the logits (correct) and on their softmax (the bug). Right: the gradient of
# each loss with respect to the true-class logit. The buggy loss stays in a narrow band, and its gradient is near 0
# at both ends, including the left end, where the true class is far behind.
#
# When the network is confidently **wrong** (the left end), the correct loss is
# {glue:text}`ch05_ok_loss_wrong:.1f` and its gradient is $-1$: a strong push. The buggy loss is
# {glue:text}`ch05_bug_loss_wrong:.2f` — barely above its floor of {glue:text}`ch05_ce_floor:.3f` — and its gradient
# {glue:text}`ch05_bug_grad_wrong:.1e`: the mistake is invisible to training. A printed loss that "plateaus at 1.46"
# is the tell-tale sign.
#
# What does it do to training? A small classifier (784-256-10) trained on 1,000 labelled images, both ways, with
# Adam and with plain SGD; accuracy on the validation split (training images whose labels are held out):

# %%
pool, val_idx = validation_split(len(data.train_x), 5000, seed=0)
x_val, y_val = data.train_x[val_idx], data.train_y[val_idx]
lab_1000 = balanced_subset(data.train_y, 1000, seed=1, pool=pool)
clf_steps = run.pick(smoke=50, cpu=400, full=400)


def train_small(bug: bool, opt: str, steps: int = clf_steps) -> list:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, K)
    ).to(run.device)
    o = (
        torch.optim.Adam(net.parameters(), 1e-3)
        if opt == "Adam"
        else torch.optim.SGD(net.parameters(), 0.1)
    )
    g = torch.Generator().manual_seed(0)
    out = []
    for s in range(1, steps + 1):
        i = lab_1000[torch.randint(len(lab_1000), (100,), generator=g)]
        l = net(data.train_x[i])
        loss = F.cross_entropy(l.softmax(-1) if bug else l, data.train_y[i])
        o.zero_grad()
        loss.backward()
        o.step()
        if s % 25 == 0:
            with torch.no_grad():
                out.append((s, (net(x_val).argmax(-1) == y_val).float().mean().item()))
    return out


fig, ax = plt.subplots(figsize=(6, 3.2))
final = {}
for opt, style in (("Adam", "-"), ("SGD", "--")):
    for bug in (False, True):
        h = train_small(bug, opt)
        name = f"{opt}, {'softmax + CE (bug)' if bug else 'CE on logits'}"
        final[(opt, bug)] = h[-1][1]
        ax.plot(
            [s for s, _ in h],
            [a for _, a in h],
            style,
            label=name,
            color="C3" if bug else "C0",
        )
ax.set_xlabel("step")
ax.set_ylabel("validation accuracy")
ax.set_title("a small classifier, 1,000 labels")
ax.legend(fontsize=9)
fig.tight_layout()
plt.show()
glue("ch05_sgd_ok", 100 * final[("SGD", False)])
glue("ch05_sgd_bug", 100 * final[("SGD", True)])
glue("ch05_adam_ok", 100 * final[("Adam", False)])
glue("ch05_adam_bug", 100 * final[("Adam", True)])
glue("ch05_clf_steps", clf_steps)

# %% [markdown]
# **Figure 5.2.** Validation accuracy of the small classifier (784-256-10, 1,000 labels), every 25 steps, trained
# with Adam (solid) and plain SGD (dashed), on logits (blue) and with a softmax before the cross-entropy (red).
# With SGD the buggy run stays far below the other three curves; with Adam its curve joins the correct one early.
#
# After {glue:text}`ch05_clf_steps` steps with SGD the buggy classifier reaches {glue:text}`ch05_sgd_bug:.1f` %
# against {glue:text}`ch05_sgd_ok:.1f` % for the correct one. With Adam the buggy classifier ends at
# {glue:text}`ch05_adam_bug:.1f` % and the correct one at {glue:text}`ch05_adam_ok:.1f` %: Adam divides each gradient
# by its own running scale, so the squashed gradients of the buggy loss are scaled back up. That is why the bug
# survives in code that "works". In a GAN the $K+1$-way softmax also feeds the real/fake game, so the gradients
# that reach the generator are squashed in the same way (this chapter does not measure that part).
# `ssgan_lib.losses` takes logits everywhere and never applies a softmax first.
#
# ## Trap 2: "semi-supervised" code that trains on every label
#
# A frequent pattern: one `DataLoader` over the whole training set yields `(x, y)`, and the loss uses `y` for every
# batch, while a variable named `num_labels = 100` is never used to mask anything. The result is a supervised
# classifier trained on 60,000 labels, reported as semi-supervised. The test is simple: **count the distinct
# labelled indices the training loop ever used.** Here the pattern, with a dataset that also returns the index:

# %%
loader_steps = run.pick(smoke=100, cpu=300, full=300)
g = torch.Generator().manual_seed(0)
seen_buggy = set()
# "for x, y in loader": a shuffled pass over all 60,000 training images
for step in range(loader_steps):
    idx = torch.randperm(len(data.train_x), generator=g)[:100]
    seen_buggy.update(idx.tolist())  # every batch's labels go into the loss
print(
    f"buggy loop: {len(seen_buggy):,} distinct labelled images after {loader_steps}"
    " steps"
)

# %% [markdown]
# The library keeps the labelled subset fixed (`Trainer.lab_idx`, one row per seed) and class-balanced
# (`balanced_subset`: $N/10$ images of each class, drawn by a seeded permutation of the training pool, outside the
# validation split). Every labelled batch is a slice of `Trainer.lab_seq`, a repeated permutation of those indices:

# %%
cfg_probe = TrainConfig(method="sgan", labels=100, steps=1, val_size=5000)
probe = Trainer(cfg_probe, data=data, progress=False)
probe.fit()
used = torch.unique(probe.lab_seq)
print("distinct labelled indices the library uses:", used.numel())
print(
    "labels per class:",
    torch.bincount(data.train_y[probe.lab_idx[0]], minlength=K).tolist(),
)
print(
    "overlap with the validation split:",
    len(set(used.tolist()) & set(probe.val_idx.tolist())),
)
glue("ch05_buggy_seen", len(seen_buggy))
glue("ch05_lib_seen", used.numel())

# %% [markdown]
# {glue:text}`ch05_buggy_seen:,` distinct labels against {glue:text}`ch05_lib_seen`. A paper-comparable run uses
# exactly the number of labels it claims, the same number of each class, and none from the images that later judge
# it.
#
# ## Trap 3: feature matching per sample instead of on batch means
#
# Salimans et al. train the generator with **feature matching**: the *batch means* of an inner layer $f$ of $D$
# should agree on real and generated data (`losses.feature_matching_loss`),
#
# $$ L_G = \frac{1}{F}\sum_{j=1}^{F} \Bigl( \frac1B\sum_{i} f_j(x_i) - \frac1B\sum_{i} f_j(G(z_i)) \Bigr)^2 . $$
#
# Some code writes `((f_real - f_fake) ** 2).mean()` instead: each fake is matched to the real image that happens
# to sit in the same row of the batch. That is a different objective. Its minimiser puts *every* fake feature at the
# mean real feature: it rewards mode collapse. Two checks. First, on two different batches of **real** images
# (a perfect generator), the batch-mean loss is nearly zero, the per-sample one is not. The features come from the
# discriminator of `probe`, the run of trap 2, which trained for a single step: it is practically untrained. That
# does not matter here: for *any* $D$, the batch means of two large real batches nearly agree, while two rows of
# different images do not.

# %%
D0 = probe.D_eval  # the discriminator of the probe run, noise off
with torch.no_grad():
    _, f1 = D0(data.train_x[:500].unsqueeze(0), train=False)
    _, f2 = D0(data.train_x[500:1000].unsqueeze(0), train=False)
fm_batch = losses.feature_matching_loss(f1, f2).item()
fm_sample = (f1 - f2).square().mean().item()
print(f"real vs real: batch-mean FM = {fm_batch:.2e}, per-sample FM = {fm_sample:.2e}")
glue("ch05_fm_ratio", fm_sample / fm_batch)

# %% [markdown]
# The per-sample loss of a perfect generator is {glue:text}`ch05_fm_ratio:.0f` times the batch-mean one. Second, what
# each loss does to the fakes: a toy in which the "features" are points in the plane, real ones from four
# clusters, fake ones free parameters moved by Adam to minimise each loss.

# %%
def real_batch(n, gen):
    centres = torch.tensor([[2.0, 2.0], [-2.0, 2.0], [2.0, -2.0], [-2.0, -2.0]])
    return centres[torch.randint(4, (n,), generator=gen)] + 0.3 * torch.randn(
        n, 2, generator=gen
    )


toy_steps = run.pick(smoke=100, cpu=400, full=400)
fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.9))
gen = torch.Generator().manual_seed(0)
ref = real_batch(400, gen)
axes[0].scatter(*ref.T, s=4, color="gray")
axes[0].set_title("real features")
spread = {}
for ax, (name, loss_fn) in zip(axes[1:], (
        ("batch means (paper)", lambda r, f: losses.feature_matching_loss(r, f)),
        ("per sample (bug)", lambda r, f: (r - f).square().mean()))):
    torch.manual_seed(1)
    fake_pts = (torch.randn(100, 2) * 1.5 + torch.tensor([4.0, 0.0])).requires_grad_(
        True
    )
    opt = torch.optim.Adam([fake_pts], lr=0.05)
    gen = torch.Generator().manual_seed(2)
    for _ in range(toy_steps):
        loss = loss_fn(real_batch(100, gen), fake_pts)
        opt.zero_grad()
        loss.backward()
        opt.step()
    pts = fake_pts.detach()
    spread[name] = pts.std(0).mean().item()
    ax.scatter(*ref.T, s=4, color="lightgray")
    ax.scatter(*pts.T, s=6, color="C3")
    ax.set_title(f"fakes, {name}", fontsize=9)
for ax in axes:
    ax.set(xlim=(-5, 7), ylim=(-5, 5), xlabel="feature 1", aspect="equal")
axes[0].set_ylabel("feature 2")
fig.suptitle(
    f"feature matching toy: {toy_steps} Adam steps on the fake points", fontsize=10
)
fig.tight_layout()
plt.show()
glue("ch05_spread_batch", spread["batch means (paper)"])
glue("ch05_spread_sample", spread["per sample (bug)"])
glue("ch05_spread_real", ref.std(0).mean().item())

# %% [markdown]
# **Figure 5.3.** The feature-matching toy. Left: real "features", points drawn from four clusters. Middle and right:
# the fake points (red) after the Adam steps given in the title, over the real points (grey), minimising feature
# matching on batch means (middle) and per sample (right). The batch-mean fakes stay spread out around the centre;
# the per-sample fakes collapse into one small cloud at the real mean, between the clusters.
#
# With batch means, the loss gradient is the same for every fake, so the cloud moves as a whole onto the real mean
# and keeps its spread ({glue:text}`ch05_spread_batch:.2f` against {glue:text}`ch05_spread_real:.2f` for the real
# points); in a real GAN that spread comes from $z$ and the generator's other pressures shape it. Per sample, each
# fake is pulled towards a different random real point each step, which on average is the real mean: the cloud
# collapses (spread {glue:text}`ch05_spread_sample:.2f`). Chapter 6 uses feature matching on batch means, as the
# paper does.
#
# ## Trap 4: picking the best epoch on the test set
#
# Much public code evaluates on the test set after every epoch and reports the **best** accuracy. The test set has
# then chosen the epoch: the reported number is the maximum of a noisy curve, biased upwards, and no longer an
# estimate of how the method does on new data (chapter 7 computes how large the bias gets). The library never does
# this: `Trainer` watches a **validation split** — `val_size` training images whose labels are held out from
# training — and `evaluate("test")` is called once, at the end, on the last **averaged** discriminator (a running
# average of $D$'s weights over the training steps, which the library evaluates instead of the latest weights
# because it is less noisy; [chapter 6](06_improved_gan) explains it, and the [glossary](glossary) has the term).
#
# ## SGAN against a supervised-only baseline, 100 labels
#
# Now the real thing: the SGAN (`method="sgan"`, the $K+1$-class losses above; the generator plays $L_G$) and the
# supervised-only baseline (`method="supervised"`: the same discriminator trained on $L_{\text{lab}}$ alone). Both
# use the network of Salimans et al. for MNIST (a 784-1000-500-250-250-250 MLP with *weight normalisation*, which
# writes each unit's weight vector as a learned length times a direction, and with Gaussian noise added to the
# inputs of its layers; [chapter 6](06_improved_gan) covers both), the same validation split and the same
# optimiser; the SGAN's head has $K+1 = 11$ outputs, the baseline's $K = 10$. Each method trains two runs side by
# side, seeds 1 and 2 (a seed draws the weights, the noise and the class-balanced 100 labels): the two methods see
# the same two labelled subsets, and the difference between the seeds says how much a difference between the
# methods has to exceed to mean anything.

# %%
common = dict(labels=100, seed=1, seeds=2, steps=steps, epochs=300, device=run.device,
              val_size=run.pick(smoke=1000, cpu=5000, full=5000),
              eval_every=max(50, steps // 20), log_every=max(50, steps // 100))
results = {}
for method in ("sgan", "supervised"):
    # in runs/: continues when re-run
    tr = run.trainer(TrainConfig(method=method, **common), data=data)
    tr.fit()
    results[method] = tr
    last = ", ".join(f"{a:.4f}" for a in tr.history["val_acc"][-1])
    print(f"{method:>10}: {tr.step} steps in {tr.wall_seconds:.0f} s,"
          f" last validation accuracy per seed {last}")

# %%
plot_history(results["sgan"].history, title="SGAN, 100 labels", method="sgan")
plt.show()

# %% [markdown]
# **Figure 5.4.** The training history of the SGAN runs (100 labels, mean of seeds 1 and 2). Left: the losses on a
# log scale (the discriminator's labelled and unlabelled losses, the generator's non-saturating loss). Right: the
# accuracy on the labelled training batch and on the validation split (averaged $D$).

# %%
plot_history(
    results["supervised"].history,
    title="supervised-only, 100 labels",
    method="supervised",
)
plt.show()

# %% [markdown]
# **Figure 5.5.** The same for the supervised-only baseline, whose only loss is the labelled one.
#
# In all four runs the accuracy on the labelled batch ends close to perfect (the lowest of the four at the last
# read-out: {glue:text}`ch05_train_acc_min:.1f` %), far above the validation accuracy: 100 labels are quickly
# memorised. The two methods' validation curves, side by side:

# %%
fig, ax = plt.subplots(figsize=(6, 3.4))
for (method, tr), color in zip(results.items(), ("tab:blue", "tab:orange")):
    h = tr.history
    for j, style in enumerate(("o-", "s--")):
        ax.plot(h["eval_step"], [100 * v[j] for v in h["val_acc"]], style, color=color,
                ms=3, label=f"{method}, seed {tr.cfg.seed + j}")
ax.set_xlabel("step")
ax.set_ylabel("validation accuracy (%)")
ax.set_title("SGAN vs supervised-only, 100 labels (averaged D)")
ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure 5.6.** Validation accuracy of the averaged discriminator of the SGAN (blue) and of the supervised-only
# baseline (orange) at each evaluation, seed 1 (solid) and seed 2 (dashed), 100 labels each.
#
# Averaged over the two seeds, {glue:text}`ch05_lead`.
#
# What has the generator learned meanwhile? Its samples, beside real digits, and how the SGAN's own averaged
# discriminator reads them (500 samples per seed):

# %%
sg = results["sgan"]
z = sg.G.sample_z(500, run.device, torch.Generator(run.device).manual_seed(0))
with torch.no_grad():
    fakes = sg.G(z)  # (seeds, 500, 784), pixels in [0, 1]
    D_avg = sg.sync_eval()  # the averaged D, noise off
    fake_logits = D_avg(fakes, train=False)[0]
    real_logits = D_avg(x_val[:500].expand(sg.cfg.seeds, -1, -1), train=False)[0]
p_fake_g = fake_logits.softmax(-1)[..., K].mean(-1)  # p(fake class), per seed
p_fake_r = real_logits.softmax(-1)[..., K].mean(-1)
digit_counts = [torch.bincount(c, minlength=K) for c in fake_logits[..., :K].argmax(-1)]
fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.7))
show_samples(x_val[:24], nrow=6, title="real digits", ax=axes[0])
for j, ax in enumerate(axes[1:]):
    show_samples(fakes[j, :24], nrow=6, ax=ax,
                 title=f"SGAN's G, seed {sg.cfg.seed + j}, step {sg.step}")
fig.tight_layout()
plt.show()
for j in range(sg.cfg.seeds):
    print(f"seed {sg.cfg.seed + j}: p(fake) on samples {p_fake_g[j]:.2f},"
          f" on real digits {p_fake_r[j]:.2f};\n"
          f"  samples per digit {digit_counts[j].tolist()}")

# %% [markdown]
# **Figure 5.7.** Left: 24 real validation digits. Middle and right: 24 samples of the SGAN's generator of each
# seed at the end of its run. The printed lines give, per seed, the averaged discriminator's mean probability of
# the fake class on 500 samples and on 500 real validation digits, and how many of the 500 samples it assigns to
# each digit 0-9.
#
# The generator is far from drawing the ten digits; {glue:text}`ch05_g_summary`. The same discriminator gives the
# samples a mean fake-class probability of {glue:text}`ch05_pfake_g`, against {glue:text}`ch05_pfake_r` for real
# digits.
#
# The test set is used once, now, for both methods:

# %%
test_acc = {m: tr.evaluate("test") for m, tr in results.items()}  # one per seed
val_acc = {m: tr.history["val_acc"][-1] for m, tr in results.items()}

# %% tags=["hide-input"]
rows = [
    "| method | seed | steps (epochs) | validation acc. (%) | test acc. (%) |",
    "|---|---|---|---|---|",
]
for m, tr in results.items():
    for j in range(tr.cfg.seeds):
        rows.append(
            f"| {m} | {tr.cfg.seed + j} | {tr.step:,}"
            f" ({tr.step / tr.steps_per_epoch:.2f}) |"
            f" {100 * val_acc[m][j]:.2f} | {100 * test_acc[m][j]:.2f} |"
        )
display(Markdown("\n".join(rows) + f"\n\n*Mode `{run.mode}`. Averaged discriminator,"
                 " last step; the test set is used once, here.*"))

# %% tags=["remove-cell"]
# The verdict of the comparison, computed from the runs: the difference of the means against the sampling error
# of a test accuracy on n test images, sqrt(p (1 - p) / n), and against each method's spread between its seeds.
import math

from ssgan_lib.evidence.study import spoken

n_test = len(data.test_x)
mean = {m: 100 * sum(a) / len(a) for m, a in test_acc.items()}
spread = {m: 100 * (max(a) - min(a)) for m, a in test_acc.items()}  # between the seeds
gain = mean["sgan"] - mean["supervised"]
seeds = [results["sgan"].cfg.seed + j for j in range(results["sgan"].cfg.seeds)]
gains = [100 * (a - b) for a, b in zip(test_acc["sgan"], test_acc["supervised"])]
p_level = sum(mean.values()) / 200  # the accuracy level, as a fraction
se = 100 * math.sqrt(p_level * (1 - p_level) / n_test)  # one test accuracy, in points
noise = 2 * math.sqrt(2) * se  # twice the standard error of a difference of two
clearly = gain > noise and gain > max(spread.values())
per_seed = spoken(f"{g:+.2f} (seed {s})" for g, s in zip(gains, seeds))
small = [f"seed {s}" for g, s in zip(gains, seeds) if g <= noise]
if clearly:
    verdict = (
        "the SGAN's mean is ahead by more than twice the standard error of a difference"
        f" of two test accuracies ({noise:.2f} points) and by more than either method's"
        f" spread between its seeds ({spread['sgan']:.2f} and"
        f" {spread['supervised']:.2f} points): averaged over these two labelled subsets"
        f" the SGAN beats the baseline. Per subset the gain is {per_seed}"
        + (f"; on {spoken(small)} alone it is within the test-set noise, so two seeds"
           " show that the unlabelled images helped here, not by how much"
           if small else "; each is larger than the test-set noise on its own")
    )
    verdict_short = (
        f"a difference larger than the test-set noise ({noise:.2f} points) and the seed"
        " spreads" + (f", although on {spoken(small)} alone it is within the noise"
                      if small else "")
    )
elif gain > 0:
    verdict = (
        "the SGAN's mean is the higher one, but the difference is not larger than both"
        " twice the standard error of a difference of two test accuracies"
        f" ({noise:.2f} points) and the methods' spreads between seeds"
        f" ({spread['sgan']:.2f} and {spread['supervised']:.2f} points); per subset the"
        f" gain is {per_seed}. These runs do not show that the SGAN is better"
    )
    verdict_short = "a difference within the test-set noise or the seed spread"
else:
    verdict = f"the SGAN's mean is not the higher one (per subset: {per_seed})"
    verdict_short = "no gain for the SGAN at this length"


def mean_curve(tr: Trainer) -> list[float]:
    return [sum(v) / len(v) for v in tr.history["val_acc"]]


ev = results["sgan"].history["eval_step"]
ahead = [a > b for a, b in zip(mean_curve(results["sgan"]), mean_curve(results["supervised"]))]
if all(ahead):
    lead = "the SGAN's validation curve is above the baseline's at every evaluation"
elif not ahead[-1]:
    lead = "the baseline's validation curve is above the SGAN's at the last evaluation"
else:
    k = max(i for i, a in enumerate(ahead) if not a) + 1  # the final lead starts here
    lead = (
        f"the baseline's validation curve is the higher one until step {ev[k - 1]:,},"
        f" and from step {ev[k]:,} on the SGAN's is"
    )
shares = [(int(c.argmax()), float(c.max() / c.sum())) for c in digit_counts]
g_summary = "the averaged discriminator reads " + spoken(
    f"{100 * f:.0f} % of seed {s}'s samples as a {d}" for (d, f), s in zip(shares, seeds)
) + (
    ": in each run the generator has collapsed onto one digit"
    if min(f for _, f in shares) >= 0.9
    else ": in each run most samples fall on one digit"
    if min(f for _, f in shares) > 0.5
    else ""
)
if not g_summary.endswith("digit"):  # the prose says "far from drawing the ten digits"
    assert run.smoke, ("the generator's samples are not mostly one digit", shares)
train_last = [min(v) for v in (results[m].history["train_acc"][-1] for m in results)]
if not run.smoke:  # the prose: labelled batch close to perfect, far above validation
    assert min(train_last) > 0.95, train_last
    assert min(train_last) > max(max(v) for v in val_acc.values()) + 0.1, train_last
sg_h = results["sgan"].history
best_gap = 100 * (max(v[0] for v in sg_h["val_acc"]) - sg_h["val_acc"][-1][0])
glue("ch05_sgan_test", mean["sgan"])
glue("ch05_sup_test", mean["supervised"])
glue("ch05_gain", gain)
glue("ch05_se", se)
glue("ch05_n_test", n_test)
glue("ch05_verdict", verdict)
glue("ch05_verdict_short", verdict_short)
glue("ch05_lead", lead)
glue("ch05_g_summary", g_summary)
glue("ch05_pfake_g", spoken(f"{p:.2f} (seed {s})" for p, s in zip(p_fake_g.tolist(), seeds)))
glue("ch05_pfake_r", spoken(f"{p:.2f}" for p in p_fake_r.tolist()))
glue("ch05_train_acc_min", 100 * min(train_last))
glue("ch05_epochs", results["sgan"].step / results["sgan"].steps_per_epoch)
glue("ch05_best_gap", best_gap)

# %% [markdown]
# After {glue:text}`ch05_epochs:.2g` epochs the SGAN's two runs reach {glue:text}`ch05_sgan_test:.2f` % test
# accuracy on average and the supervised-only baseline's {glue:text}`ch05_sup_test:.2f` % (difference
# {glue:text}`ch05_gain:+.2f` points). Is that difference larger than chance? Two sources of chance matter. The
# test set is a sample: an accuracy $p$ measured on $n$ images has the standard error $\sqrt{p(1-p)/n}$, here
# {glue:text}`ch05_se:.2f` points ($n =$ {glue:text}`ch05_n_test:,`), and the difference of two such accuracies
# about $\sqrt 2$ times that (a little less, since both are measured on the same images). And the runs are a
# sample: another seed, with another labelled subset, gives another number. Against both,
# {glue:text}`ch05_verdict`.
#
# These are **short runs**, and the generator shows it (Figure 5.7). The published results (about 99 % with 100
# labels for the feature-matching variant that [chapter 6](06_improved_gan) builds, SSGAN-FM in this book) come
# from 300-epoch runs; chapter 6 shows how far longer runs get, and chapter 7's study sets SSGAN-FM against
# supervised-only over three seeds at 50 epochs. Had we reported the best validation point instead of the last, we
# would have added {glue:text}`ch05_best_gap:.2f` points of pure selection to seed 1's SGAN number (zero when the
# last point is also the best) — on the test set, that would be trap 4.
#
# ## What to watch for
#
# - **A loss that plateaus near 1.46 (with $K=10$)** or a "probability" output layer before `CrossEntropyLoss`:
#   trap 1. Losses should take logits.
# - **`-inf` or NaN in the unlabelled loss** when $D$ becomes confident: $\log(1 - p)$ written naively. Use
#   `logsumexp` of the real log-probabilities.
# - **Too-good results with "100 labels"**: count the distinct labelled indices; check the per-class counts.
# - **Generator samples that all look alike** under feature matching: check that the means are taken over the batch
#   before the difference.
# - **A best-epoch number** in a results table: ask which data chose the epoch.
# - **The fake class in predictions**: at test time take the argmax over the $K$ real classes only.
#
# ## Key takeaways
#
# - Compute the $K+1$-class losses from logits: $\log(1 - p(K{+}1 \mid x))$ is a `logsumexp` of the real classes'
#   log-probabilities. Written naively it gives $-\infty$ once $D$ is confident (the first check above); the
#   library's form stays finite.
# - A softmax before the cross-entropy squashes the loss to a band above {glue:text}`ch05_ce_floor:.3f` and leaves a
#   gradient of {glue:text}`ch05_bug_grad_wrong:.1e` on a confidently wrong image (Figure 5.1). With SGD the buggy
#   classifier reached {glue:text}`ch05_sgd_bug:.1f` % against {glue:text}`ch05_sgd_ok:.1f` %; with Adam the two
#   ended at {glue:text}`ch05_adam_bug:.1f` % and {glue:text}`ch05_adam_ok:.1f` % (Figure 5.2): a run that "works"
#   does not show that its loss is right.
# - Audit what a "semi-supervised" run uses: the whole-dataset loop put {glue:text}`ch05_buggy_seen:,` distinct
#   labels into its loss, the library {glue:text}`ch05_lib_seen`, class-balanced and outside the validation split.
#   And feature matching compares *batch means*: per sample it scores two real batches
#   {glue:text}`ch05_fm_ratio:.0f` times higher, and it collapses the toy's fakes (spread
#   {glue:text}`ch05_spread_sample:.2f` against {glue:text}`ch05_spread_batch:.2f`, Figure 5.3).
# - In this chapter's runs (two seeds per method, {glue:text}`ch05_epochs:.2g` epochs) the SGAN reached
#   {glue:text}`ch05_sgan_test:.2f` % test accuracy on average and the supervised-only baseline
#   {glue:text}`ch05_sup_test:.2f` %: {glue:text}`ch05_verdict_short`. Judge a difference of test accuracies
#   against the test set's standard error $\sqrt{p(1-p)/n}$ and against the spread between seeds, and look at the
#   generator's samples (here: {glue:text}`ch05_g_summary`).
#
# ## Exercises
#
# :::{exercise}
# :label: ch05-softmax-floor
#
# With $K = 10$ classes, what is the smallest value `F.cross_entropy(torch.softmax(l, -1), y)` can take, over all
# logits `l`? Compute it in closed form and check it with `ssgan_lib.exercises.ch05.check_softmax_floor(value)`.
# :::
#
# :::{solution} ch05-softmax-floor
# :class: dropdown
#
# The cross-entropy sees $p$ as logits: $-p_y + \log\sum_k e^{p_k}$. It is smallest when $p_y = 1$ and all other
# $p_k = 0$: $-1 + \log(e + 9) \approx 1.461$.
# ```python
# import math
# from ssgan_lib.exercises.ch05 import check_softmax_floor
# check_softmax_floor(math.log(9 + math.e) - 1)
# ```
# :::
#
# :::{exercise}
# :label: ch05-unl-loss
#
# Write `sgan_unl(unl_logits, fake_logits)`, the unsupervised part of the SGAN discriminator loss,
#
# $$ \begin{aligned} &-\mathbb E_x \log\bigl(1 - p(K{+}1 \mid x)\bigr) \\
#    &- \mathbb E_z \log p(K{+}1 \mid G(z)), \end{aligned} $$
#
# for logits of shape `(S, B, K+1)`, returning `S` values. It must stay finite for logits of size 1000. Check it with
# `ssgan_lib.exercises.ch05.check_sgan_unsupervised_loss(sgan_unl)`. Then write the generator loss
# $L_G$ of this chapter and check it with `check_sgan_g_loss`.
# :::
#
# :::{solution} ch05-unl-loss
# :class: dropdown
#
# ```python
# import torch
# import torch.nn.functional as F
#
# def sgan_unl(unl_logits, fake_logits):
#     lp_unl = F.log_softmax(unl_logits, dim=-1)
#     lp_fake = F.log_softmax(fake_logits, dim=-1)
#     real_term = -torch.logsumexp(lp_unl[..., :-1], dim=-1).mean(-1)  # log(1 - p_fake)
#     fake_term = -lp_fake[..., -1].mean(-1)
#     return real_term + fake_term
#
# def sgan_g(fake_logits):
#     log_p = F.log_softmax(fake_logits, dim=-1)
#     return -torch.logsumexp(log_p[..., :-1], dim=-1).mean(-1)
#
# from ssgan_lib.exercises.ch05 import check_sgan_unsupervised_loss, check_sgan_g_loss
# check_sgan_unsupervised_loss(sgan_unl)
# check_sgan_g_loss(sgan_g)
# ```
# `torch.log(1 - F.softmax(unl_logits, -1)[..., -1])` fails the check: it is `-inf` once the fake probability
# rounds to 1.
# :::
#
# :::{exercise}
# :label: ch05-fm
#
# Write `fm(real_feats, fake_feats)` — feature matching on batch means for features of shape `(..., B, F)` — and
# check it with `ssgan_lib.exercises.ch05.check_feature_matching(fm)`. Then check the per-sample version
# `((real_feats - fake_feats) ** 2).mean(-1).mean(-1)` and explain why it is rejected.
# :::
#
# :::{solution} ch05-fm
# :class: dropdown
#
# ```python
# def fm(real_feats, fake_feats):
#     return (real_feats.mean(-2) - fake_feats.mean(-2)).square().mean(-1)
#
# from ssgan_lib.exercises.ch05 import check_feature_matching
# check_feature_matching(fm)                                                  # correct
# check_feature_matching(lambda r, f: ((r - f) ** 2).mean(-1).mean(-1))       # not yet
# ```
# The per-sample loss equals the batch-mean loss **plus** the variance of the row-wise differences; for each
# feature,
#
# $$ \begin{aligned} &\frac1B\sum_i (r_i - f_i)^2 \\
#    &\quad = (\bar r - \bar f)^2 \\
#    &\quad + \frac1B\sum_i \bigl((r_i - \bar r) - (f_i - \bar f)\bigr)^2 .
#    \end{aligned} $$
#
# That extra term is positive even for a perfect generator, and its minimiser over the fakes (with random pairings)
# is every fake at the real mean: collapse.
# :::
#
# :::{exercise}
# :label: ch05-count-labels
#
# Write `distinct(batches)` that takes a list of 1-D tensors of labelled training indices (one per step, as a
# training loop would log them) and returns how many distinct images were used with their label. Check it with
# `ssgan_lib.exercises.ch05.check_distinct_labels(distinct)`. How would you log the indices in a loop built on
# `torch.utils.data.DataLoader`?
# :::
#
# :::{solution} ch05-count-labels
# :class: dropdown
#
# ```python
# import torch
# def distinct(batches):
#     return torch.unique(torch.cat(batches)).numel()
#
# from ssgan_lib.exercises.ch05 import check_distinct_labels
# check_distinct_labels(distinct)
# ```
# With a `DataLoader`, wrap the dataset so that `__getitem__` returns `(x, y, index)` and append the index tensor
# of every labelled batch to a list. The count must equal the claimed number of labels; then check
# `torch.bincount(labels[indices])` for class balance.
# :::
#
# :::{exercise}
# :label: ch05-best-epoch
#
# Using the validation curve of the SGAN run above, how much would "report the best evaluation" have added to the
# last one, in percentage points? Check with `ssgan_lib.exercises.ch05.check_best_gap(gap, h)` where `h` is the
# run's history. Why is doing that on the *validation* split acceptable for choosing a number of epochs, but not
# on the test split?
# :::
#
# :::{solution} ch05-best-epoch
# :class: dropdown
#
# ```python
# from ssgan_lib.exercises.ch05 import check_best_gap
# h = results["sgan"].history
# gap = 100 * (max(v[0] for v in h["val_acc"]) - h["val_acc"][-1][0])  # points
# print(gap)
# check_best_gap(gap, h)
# ```
# Choosing on the validation split is model selection: it is allowed, and its optimism is then measured honestly by
# the untouched test set, used once. Choosing on the test set leaves no untouched data: the reported number is the
# maximum of noisy estimates and overstates the accuracy on new data.
# :::
#
# ## Further reading
#
# - [Chapter 6](06_improved_gan) of this book: the feature-matching recipe of Salimans et al. (2016), which turns
#   this $K+1$-class discriminator into the classifier behind the paper's MNIST numbers.
# - Z. Dai, Z. Yang, F. Yang, W. W. Cohen, R. Salakhutdinov. [*Good Semi-supervised Learning That Requires a Bad
#   GAN*](https://arxiv.org/abs/1705.09783). NeurIPS 2017: why the generator that helps the classifier is not the
#   one that draws realistic digits (chapter 8 measures both).
# - A. Oliver, A. Odena, C. Raffel, E. D. Cubuk, I. Goodfellow. [*Realistic Evaluation of Deep Semi-Supervised
#   Learning Algorithms*](https://arxiv.org/abs/1804.09170). NeurIPS 2018: what a fair comparison with a
#   supervised baseline needs (the same network and tuning budget, a realistic validation set, several labelled
#   subsets).
#
# ## References
#
# - A. Odena. [*Semi-Supervised Learning with Generative Adversarial Networks*](https://arxiv.org/abs/1606.01583). arXiv:1606.01583, 2016.
# - T. Salimans, I. Goodfellow, W. Zaremba, V. Cheung, A. Radford, X. Chen. [*Improved Techniques for Training
#   GANs*](https://arxiv.org/abs/1606.03498). NeurIPS 2016 (section 5: semi-supervised learning).
# - I. Goodfellow, J. Pouget-Abadie, M. Mirza, B. Xu, D. Warde-Farley, S. Ozair, A. Courville, Y. Bengio.
#   [*Generative Adversarial Nets*](https://arxiv.org/abs/1406.2661). NeurIPS 2014.
# - A. Oliver, A. Odena, C. Raffel, E. D. Cubuk, I. Goodfellow. [*Realistic Evaluation of Deep Semi-Supervised
#   Learning Algorithms*](https://arxiv.org/abs/1804.09170). NeurIPS 2018 (validation sets, baselines).

# %%
print(run)
