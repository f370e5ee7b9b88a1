# %% [markdown]
# # 10. Appendix: reproducing the paper
#
# **Learning goals**
#
# - Know how the library is checked against the authors' own Theano code, and why two codes that agree step by
#   step still end runs at different places.
# - Tell apart the two published versions of the reference MNIST script and read what the stored runs say about
#   each, at 90 and at 300 epochs.
# - Read an ablation by what its stored outputs show: rank the variants in code, then describe the ranking.
#
# [Chapter 6](06_improved_gan) teaches the recipe and gives its result. This appendix holds the forensics behind it. It trains
# nothing: every figure and table reads records stored in `book/results/`, each with its configuration, command
# and commit.

# %% [markdown]
# ## Running this chapter
#
# Sizes follow the machine: *cpu* without a GPU, *gpu* on one such as Colab's T4, *full* only when
# asked. This appendix only reads stored runs, so every size takes seconds; the
# run-info line at the end says how long this copy took.

# %% tags=["hide-cell"]
from ssgan_lib.evidence.runinfo import RunInfo, glue  # glue: numbers for the text

run = RunInfo("10 reproduction")
run.explain()

# %%
import statistics

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

# the book's stored results, also when installed
from ssgan_lib.evidence import read_result, results_path
from ssgan_lib.evidence.records import (
    D_WINS_BELOW,
    combine_seeds,
    d_wins,
    epoch_means,
    last_val,
    load_run,
    per_seed,
    recipe_table,
    seed_ids,
    seed_mean,
    val_curve,
)
from ssgan_lib.evidence.study import PAPER_ERRORS, PAPER_STD, spoken

reference = read_result("reference_runs.json")  # the reference's own logs
port = read_result("external/chainer_port_final_seed0.json")  # not run here
port_acc = [100 * (1 - e) for e in port["test_err"]]
head = combine_seeds(  # the 300-epoch headline of chapter 6, one file per seed
    [load_run(f) for f in sorted(results_path("headline").glob("final-300-seed*.json"))]
)
lib = per_seed(head, "averaged")  # seed -> its curves and test accuracy
lib_name = f"final-{head['epochs']:.0f}"
recipe_runs = {f.stem: load_run(f)
               for f in sorted(results_path("recipe").glob("*.json"))}


def ref_acc(r):
    """A reference run's test accuracy (%) per epoch, of its raw D."""
    return [100 * (1 - e) for e in r.get("raw_test_err", r["test_err"])]


def at_epoch(epochs, values, e):
    """The value logged at epoch e (None when the run did not get there)."""
    return next((v for x, v in zip(epochs, values) if x == e), None)


def early_wins(epochs, loss_unl):
    """Epochs 1-20 in which D wins the unsupervised game outright."""
    return sum(1 for e, v in zip(epochs, loss_unl) if e <= 20 and v < D_WINS_BELOW)


# %% [markdown]
# ## The reference code itself, beside the library
#
# How do we know the library runs *the* recipe, and not our reading of it? Its training step is checked against
# Salimans et al.'s own Theano code, run unchanged on the same initial weights, batches, latent codes and noise
# (the section "Reproduce this appendix" gives the commands): every loss, gradient,
# weight, average and Adam moment agrees to about $10^{-13}$ in float64 over the first 30 steps. This
# step-by-step check against the real code is the **oracle test** (`tests/test_reference_oracle.py`: the authors'
# script is the oracle that says what the right answer is). After that the
# two drift apart, as the reference's own float32 and float64 runs drift apart: a GAN amplifies rounding
# differences, step after step. So where a run *ends* is a property of the recipe and the seed, not of a
# difference in code, and the two can only be compared over seeds.
#
# The reference has also been run by itself: {glue:text}`ch10_ref_n:.0f` runs of {glue:text}`ch10_ref_min:.0f` to
# {glue:text}`ch10_ref_max:.0f` of the script's 300 epochs (the table below gives each run's version, seed and
# length; the logs: `book/results/reference_runs.json`). Figure 10.1 puts its curves beside the library's
# 300-epoch runs and beside the log of an independent port of the same script to Chainer (one seed on a GPU, 300
# epochs; **not run here**: its author's log, stored in `book/results/external/` with the address and commit it
# comes from). The reference's and the port's logs give the error on the **test** set, epoch by epoch; the
# library's runs are watched on the **validation** split. The two splits differ, so compare the shapes.

# %% tags=["hide-input"]
fig, axes = plt.subplots(2, 2, figsize=(7.2, 5.4), sharex=True, height_ratios=[3, 2])
for r in reference["runs"]:
    if r["recipe"] == "final":
        line, = axes[0, 0].plot(r["epoch"], ref_acc(r), "--", lw=1.2,
                                label=f"reference, seed {r['seed']} (test)")
        axes[1, 0].semilogy(r["epoch"], r["loss_unl"], "--", lw=1.2,
                            color=line.get_color())
axes[0, 0].plot(port["epoch"], port_acc, ":", lw=1.8, color="k",
                label=f"Chainer port, seed {port['seed']} (test)")
axes[1, 0].semilogy(port["epoch"], port["loss_unl"], ":", lw=1.8, color="k")
for seed, rec in lib.items():
    label = f"seed {seed} (validation, averaged D)"
    line, = axes[0, 1].plot(rec["epoch"], rec["acc"], lw=1.5, label=label)
    axes[1, 1].semilogy(rec["loss_epoch"], rec["loss_unl"], lw=1.5,
                        color=line.get_color())
axes[0, 0].set_title("the final script: reference and port", fontsize=10)
axes[0, 1].set_title(f"the library, {lib_name}", fontsize=10)
for col in (0, 1):
    axes[0, col].set(ylabel="accuracy (%)", xlim=(0, 100), ylim=(70, 100))
    axes[1, col].set(xlabel="epoch", ylabel="loss_unl, epoch mean")
    axes[1, col].axhline(D_WINS_BELOW, color="gray", ls=":", lw=1)
    for ax in axes[:, col]:
        ax.grid(alpha=0.3, which="both")
    axes[1, col].legend(*axes[0, col].get_legend_handles_labels(), fontsize=9,
                        loc="upper center", bbox_to_anchor=(0.5, -0.3), frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure 10.1.** The first 100 epochs of the final version of the script. Left: the reference's runs (test
# accuracy of the raw $D$) and the Chainer port (test accuracy of its averaged $D$). Right: the library's three
# 300-epoch runs (validation accuracy of the averaged $D$). Below: the epoch means of `loss_unl`; under the dotted
# line $D$ wins the unsupervised game outright.

# %% tags=["hide-input"]
rows = []
for r in reference["runs"]:
    acc = ref_acc(r)
    rows.append((f"reference, {r['recipe']}", r["seed"], "test, raw D", r["epoch"][-1],
                 at_epoch(r["epoch"], acc, 25), acc[-1],
                 early_wins(r["epoch"], r["loss_unl"])))
for seed, rec in lib.items():
    ep, acc = rec["epoch"], rec["acc"]
    rows.append((f"library, {lib_name}", seed, "validation, averaged D", ep[-1],
                 at_epoch(ep, acc, 25), acc[-1],
                 early_wins(rec["loss_epoch"], rec["loss_unl"])))
rows.append(("Chainer port (not run here), final", port["seed"], "test, averaged D",
             port["epoch"][-1], at_epoch(port["epoch"], port_acc, 25), port_acc[-1],
             early_wins(port["epoch"], port["loss_unl"])))
fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
display(Markdown(
    "| run | seed | accuracy on | epochs run | acc. at epoch 25 (%) | acc. at the last"
    " epoch (%) | epochs 1-20 with loss_unl < 0.01 |\n|---|---|---|---|---|---|---|\n"
    + "".join(f"| {a} | {b} | {c} | {d:.0f} | {fmt(e)} | {fmt(f)} | {g} |\n"
              for a, b, c, d, e, f, g in rows)))
ref_s1 = next(r for r in reference["runs"] if r["recipe"] == "final" and r["seed"] == 1)
glue("ch10_ref_n", float(len(reference["runs"])))
glue("ch10_ref_min", float(min(r["epoch"][-1] for r in reference["runs"])))
glue("ch10_ref_max", float(max(r["epoch"][-1] for r in reference["runs"])))
calm = [r[1] for r in rows if r[0] == "reference, final" and r[6] == 0]
s1, s2 = lib[1], lib[2]
glue("ch10_ref_epochs", float(ref_s1["epoch"][-1]))
glue("ch10_ref_raw_last", 100 * (1 - ref_s1["raw_test_err"][-1]))
glue("ch10_ref_avg_last", 100 * (1 - ref_s1["test_err"][-1]))
glue("ch10_ref_s1_early", float(rows[0][6]))
glue("ch10_ref_calm_seeds", ("seed " if len(calm) == 1 else "seeds ")
     + " and ".join(map(str, calm)))
glue("ch10_lib_at_ref_end", at_epoch(s1["epoch"], s1["acc"], ref_s1["epoch"][-1]))
glue("ch10_lib_epochs", float(s1["epoch"][-1]))
for name, rec in (("s1", s1), ("s2", s2)):
    glue(f"ch10_lib_{name}_50", at_epoch(rec["epoch"], rec["acc"], 50))
    glue(f"ch10_lib_{name}_last", rec["acc"][-1])
    glue(f"ch10_lib_{name}_test", rec["test"])
for e in (50, 100, port["epoch"][-1]):
    glue(f"ch10_port_{e}", at_epoch(port["epoch"], port_acc, e))
glue("ch10_port_epochs", float(port["epoch"][-1]))
gap = port_acc[-1] - (100 - PAPER_ERRORS[100])
glue("ch10_port_vs_paper", f"{abs(gap):.2f} points {'above' if gap > 0 else 'below'}")

# %% [markdown]
# Three things to read off. First, the early regime depends on the seed, in the reference itself: with seed 1 its
# final version's $D$ wins the unsupervised game for a long time ({glue:text}`ch10_ref_s1_early:.0f` of the first 20 epochs with
# `loss_unl` below 0.01, and the accuracy idles in the 70s), with {glue:text}`ch10_ref_calm_seeds` it does not (and
# these climb at different speeds). Second, the codes climb to the same neighbourhood, and how high a run levels
# off depends on its seed as well: after {glue:text}`ch10_ref_epochs:.0f` epochs the reference's seed 1 stands at
# {glue:text}`ch10_ref_raw_last:.2f` % (raw $D$) and {glue:text}`ch10_ref_avg_last:.2f` % (averaged $D$) on the
# test set, the library's seed 1 at {glue:text}`ch10_lib_at_ref_end:.2f` % on validation. From epoch 50 to the
# end the library's first two runs stay at different heights: seed 1 goes from {glue:text}`ch10_lib_s1_50:.2f` % to
# {glue:text}`ch10_lib_s1_last:.2f` % at epoch {glue:text}`ch10_lib_epochs:.0f`
# ({glue:text}`ch10_lib_s1_test:.2f` % on the test set), seed 2 from {glue:text}`ch10_lib_s2_50:.2f` % to
# {glue:text}`ch10_lib_s2_last:.2f` % ({glue:text}`ch10_lib_s2_test:.2f` % on the test set). A seed draws the
# labelled subset along with the weights; [chapter 6](06_improved_gan) ("The trained network itself") shows what seed 1's subset does.
# Third, the port's one long run, at the script's constant rate of 0.003, climbs slowly but for long:
# {glue:text}`ch10_port_50:.2f` % on the test set at epoch 50, {glue:text}`ch10_port_100:.2f` % at epoch 100 and
# {glue:text}`ch10_port_300:.2f` % at epoch {glue:text}`ch10_port_epochs:.0f`, {glue:text}`ch10_port_vs_paper` the
# paper's 99.07 % (its averaged $D$ is read without the bias correction, which shrinks its biases in the first few
# dozen epochs, so those epochs do not compare with the library's). So the final script at its constant rate can
# get there with some seeds; a few seeds of each code cannot say with how many.
#
# Is the port the same algorithm as the library? Its log also gives the three losses, epoch by epoch, computed with
# the same formulas (mean over the batch; feature matching as the mean of squared differences of batch means).
# Figure 10.2 sets them beside the library's runs.

# %% tags=["hide-input"]
panels = (("loss_lab", "loss_lab", "$L_{lab}$"), ("loss_unl", "loss_unl", "$L_{unl}$"),
          ("loss_g", "loss_gen", "feature matching $L_G$"))
fig, axes = plt.subplots(1, 3, figsize=(7.2, 3.4), sharex=True)
late = {}  # loss -> mean over epochs 51 to the last: each library seed, then the port
for ax, (key, port_key, title) in zip(axes, panels):
    e, v = epoch_means(head, key)
    for i, seed in enumerate(lib):
        ax.semilogy(e, [x[i] for x in v], lw=1.2,
                    label=f"library, {lib_name}, seed {seed}")
    n = min(e[-1], port["epoch"][-1])
    ax.semilogy(port["epoch"][:n], port[port_key][:n], ":", color="k", lw=1.8,
                label=f"Chainer port, seed {port['seed']}")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("epoch")
    ax.yaxis.set_minor_formatter(plt.NullFormatter())  # label the decades only
    if key == "loss_unl":  # about one decade: plain numbers instead
        ax.set_yticks([0.05, 0.1, 0.2, 0.4], labels=["0.05", "0.1", "0.2", "0.4"])
    ax.grid(alpha=0.3, which="both")
    rows50 = [x for ep_, x in zip(e, v) if 50 < ep_ <= n]
    late[key] = [statistics.fmean(c) for c in zip(*rows50)]
    late[key].append(statistics.fmean(port[port_key][50:n]))
axes[0].set_ylabel("epoch mean")
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=9,
           frameon=False)
fig.tight_layout(rect=(0, 0.14, 1, 1))
plt.show()

# %% [markdown]
# **Figure 10.2.** The three losses of the library's 300-epoch runs and of the Chainer port, epoch means.

# %%
parts = [f"{k} " + ", ".join(f"{x:.3g}" for x in vals[:-1])
         + f" (library seeds), {vals[-1]:.3g} (port)" for k, vals in late.items()]
display(Markdown(f"Mean over epochs 51-{n}: " + "; ".join(parts) + "."))

# %% tags=["remove-cell"]
# the unsupervised loss's course in words: its seed mean's peak against its end
e_u, v_u = epoch_means(head, "loss_unl")
u = seed_mean(v_u)
top = max(range(len(u)), key=u.__getitem__)
glue("ch10_unl_course", f"rises to {u[top]:.2f} by epoch {e_u[top]:g} and then "
     + ("falls slowly" if u[-1] < 0.9 * u[top] else "stays level")
     + f" (to {u[-1]:.2f} at epoch {e_u[-1]:g}, mean of the library's seeds)",
     display=False)

# %% [markdown]
# The port's curves run among the library's seeds or beside them, with the same shapes: a labelled loss that falls
# by three orders of magnitude, an unsupervised loss that {glue:text}`ch10_unl_course`, a feature-matching loss with
# bursts in the first epochs that then falls slowly: two independent codes of the script play the same game.
#
# ## Two versions of the recipe, and the default
#
# The reference repository holds two versions of this MNIST script. The paper appeared on 10 June 2016; the
# version of 8 June trains with a learning rate of 0.001 that decays linearly to 0 over the last 100 of 300 epochs,
# evaluates the raw $D$, and initialises $G$'s output layer from data; the version of 14 June ("param averaging
# everywhere"), the one the repository keeps today, trains at a constant 0.003 and evaluates the parameter
# average. `ssgan_lib.recipes` holds both as named presets (`TrainConfig(recipe=...)`, `--recipe` on the command
# line), and the oracle test checks the library against each version of the real script:

# %%
from ssgan_lib.recipes import RECIPES, markdown_table

display(Markdown(markdown_table()))

# %% [markdown]
# Which one reaches the paper's number is a question for experiments, judged on the **validation** split: 100
# labels, two or three seeds side by side, long enough to see where each ends. Each run is stored in
# `book/results/recipe/` with its configuration, command, commit and curves. The compressed schedule keeps the
# paper-era shape: 60 epochs at the full rate, then 30 decaying to 0. Figure 10.3 shows each run with the $D$ its
# recipe evaluates.

# %% tags=["hide-input"]
length = 90.0  # the compressed runs; paper-20-seeds-3-5 is shorter, paper-300 longer


def judged_curve(m):
    """(epochs, accuracy per evaluation and seed) of the D its recipe evaluates."""
    return val_curve(m, RECIPES[m["config"]["recipe"]].eval_params)


fig, axes = plt.subplots(1, 3, figsize=(7.2, 3.4))
ep, vals = judged_curve(recipe_runs["final-90"])
ep_a, vals_a = judged_curve(recipe_runs["final-anneal-90"])
for j, seed in enumerate(seed_ids(recipe_runs["final-90"])):
    axes[0].plot(ep, [v[j] for v in vals], lw=1.3, label=f"final-90, seed {seed}")
    axes[1].plot(ep_a, [a[j] - c[j] for a, c in zip(vals_a, vals)], lw=1.3,
                 label=f"seed {seed}")
axes[1].axhline(0, color="k", lw=0.8)
paper_era = (("paper-90", "-"), ("paper-90-no-ddi", "--"), ("paper-20-seeds-3-5", ":"))
for name, style in paper_era:
    e2, v2 = judged_curve(recipe_runs[name])
    line, = axes[2].plot(e2, seed_mean(v2), style, lw=1.4, label=name)
    axes[2].fill_between(e2, [min(v) for v in v2], [max(v) for v in v2],
                         color=line.get_color(), alpha=0.15)
axes[0].set(ylabel="validation accuracy (%)", ylim=(75, 100))
axes[1].set(ylabel="points")
axes[2].set(ylim=(75, 100))
for ax, title in zip(axes, ("final-90", "anneal minus constant", "paper-era (raw D)")):
    ax.set_title(title, fontsize=10)
for ax in axes:
    ax.set(xlabel="epoch", xlim=(0, length))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.22),
              frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure 10.3.** The recipe experiments on the validation split. Left: the final version at its constant rate,
# per seed. Middle: what annealing its rate over the last 30 of 90 epochs changes, seed by seed (the two runs are
# the same until epoch 60). Right: the paper-era version as written (`paper-90`), without its data-dependent
# machinery (`paper-90-no-ddi`) and at its rate held constant for 20 epochs (`paper-20-seeds-3-5`): seed mean,
# band from the lowest to the highest seed.

# %%
display(Markdown(recipe_table(recipe_runs)))

# %% [markdown]
# The D-wins column (epochs with `loss_unl` below 0.01) counts how long $D$ wins the unsupervised game outright:
# it tells real from generated images almost perfectly, $G$'s feature-matching loss grows, and the unlabelled
# images stop helping the classifier. When that phase comes, and whether a run leaves it, decides where the run
# ends far more than the last few tenths of a point. The next cell lists, for every run of the reference and of
# the library, which epochs those are:

# %%
for r in reference["runs"]:
    phase = d_wins(r["epoch"], r["loss_unl"])
    print(f"reference, {r['recipe']:>13}, seed {r['seed']}: {phase}")
for name, m in recipe_runs.items():
    e2, lu = epoch_means(m, "loss_unl")
    for s, col in enumerate(zip(*lu)):
        print(f"library, {name:>18}, seed {m['seed'] + s}: {d_wins(e2, col)}")

# %% [markdown]
# Some runs of the reference go through such a phase at the start, with both versions of the script, and leave it
# early; others never enter it. The library's final-recipe runs here never enter it, nor does its paper-era run
# without data-dependent initialisation (`paper-90-no-ddi`). Its paper-era runs as written all enter it at the
# start; then seeds 1 and 2 (`paper-90`), after some epochs out of it, fall back into it for good ("every epoch
# from ... on"), while seeds 3-5 (`paper-20-seeds-3-5`) leave it and stay out through their 20 epochs, their
# accuracy climbing. A run with the reference's float32 arithmetic where it differs (Theano cuts `softplus` off
# above 14 and the sigmoid in its gradient above 15, where PyTorch keeps the exact value) falls back as well (the
# oracle's notes, named in "Reproduce this appendix", describe that run), so those cut-offs are not what keeps a
# run out of that phase.
#
# The verdict on the 90-epoch runs, computed from the stored records (validation only; each run judged by the $D$
# its recipe evaluates):

# %% tags=["hide-input"]
judged = {n: last_val(m, RECIPES[m["config"]["recipe"]].eval_params)
          for n, m in recipe_runs.items() if m["epochs"] == length}
ranked = sorted(judged, key=lambda n: -judged[n]["mean"])
best, top = ranked[0], judged[ranked[0]]
band = top["max"] - top["min"]  # how far apart the seeds of the highest run end
near = [n for n in ranked[1:] if top["mean"] - judged[n]["mean"] < band]
close = [f"{n} ({judged[n]['mean'] - top['mean']:+.2f})" for n in near]
verdict = (f"Highest at the end of the {len(judged)} runs of {length:.0f} epochs:"
           f" **{best}**, {top['mean']:.2f} % (mean of {top['seeds']} seeds). "
           + (f"{spoken(close)} {'ends' if len(close) == 1 else 'end'} below it by less"
              f" than the spread of its seeds ({band:.2f} points)."
              if close else
              f"Every other run ends further below it than its seeds lie apart"
              f" ({band:.2f} points)."))
v_a, v_c = (val_curve(recipe_runs[n])[1] for n in ("final-anneal-90", "final-90"))
diffs = [a - c for a, c in zip(v_a[-1], v_c[-1])]
verdict += (f" Annealing the final recipe's rate, seed by seed:"
            f" {', '.join(f'{d:+.2f}' for d in diffs)} points; the two seeds of the"
            f" constant rate lie {max(v_c[-1]) - min(v_c[-1]):.2f} points apart.")
display(Markdown(verdict))
# the prose below: annealing moves each seed by far less than the seeds lie apart
assert 5 * max(map(abs, diffs)) < max(v_c[-1]) - min(v_c[-1]), diffs
no_ddi = ranked.index("paper-90-no-ddi") + 1
nd = judged["paper-90-no-ddi"]["mean"]
glue("ch10_noddi_90", (
    "ends highest" if no_ddi == 1 else
    f"ranks {no_ddi} of {len(ranked)}, {top['mean'] - nd:.2f} points below the highest")
    + f" ({nd:.2f} %, against {judged['paper-90']['mean']:.2f} % for paper-90 as"
    " written)")
default = "final-90"  # the library's default recipe at this length
top_group = [best, *near]  # the runs within the highest run's seed spread
glue("ch10_default_why", (
    "the runs that end within the seed spread of the highest are"
    f" {spoken(top_group)}, and"
    " the library's default, the final script as the reference repository keeps it"
    " (constant rate, averaged D evaluated), is one of them"
    if default in top_group else
    f"the library's default ({default}) ends below the seed spread of the highest"
    f" ({best}); it stays the default because it is the script the reference"
    " repository keeps"))

# %% [markdown]
# **Why `final` is the library's default.** In these 90-epoch runs the paper-era version as written (`paper-90`:
# $D$ and $G$ initialised from data, $D$'s hidden scales frozen) ends far below the final one, and its $D$ wins the
# unsupervised game for most of each run. Without that machinery (`paper-90-no-ddi`: the same rate of 0.001 and
# the same decay, plain weight norm, default initialisation) its $D$ never wins outright and it
# {glue:text}`ch10_noddi_90`: at the lower rate the fall-back comes with that machinery (which of its three parts,
# these runs cannot say), not with the rate or its decay. Annealing the final recipe's rate moves each seed by far
# less than the two seeds differ from each other. So on the validation split
# {glue:text}`ch10_default_why`.
#
# ## Both versions at the paper's length
#
# Would a paper-era run that falls back into the D-wins phase leave it again, given the paper's length?
# `paper-300` trains the paper-era version as written for the full 300 epochs with seed 1, and the headline trains
# the final version as long with the same seed. Figure 10.4 sets them side by side on the validation split, each
# judged by the $D$ its recipe evaluates, with the reference's paper-era run of seed 1 (test set, raw $D$) for the
# epochs it ran.

# %% tags=["hide-input"]
p300 = recipe_runs["paper-300"]
sides = [  # (name, D evaluated, seed 1's curves, epochs over which the rate decays)
    ("paper-300", "raw", per_seed(p300, "raw")[1], p300["recipe"]["lr_decay_epochs"]),
    (lib_name, "averaged", lib[1], 0),
]
ref_p1 = next(r for r in reference["runs"] if r["recipe"] != "final" and r["seed"] == 1)
fig, (ax, ax2) = plt.subplots(2, 1, figsize=(7.2, 5), sharex=True, height_ratios=[3, 2])
for name, which, rec, _ in sides:
    line, = ax.plot(rec["epoch"], rec["acc"], lw=1.3,
                    label=f"library, {name}, seed 1 (validation, {which} D)")
    ax2.semilogy(rec["loss_epoch"], rec["loss_unl"], lw=1.3, color=line.get_color())
line, = ax.plot(ref_p1["epoch"], ref_acc(ref_p1), "--", color="gray", lw=1.2,
                label=f"reference, {ref_p1['recipe']}, seed 1 (test, raw D)")
ax2.semilogy(ref_p1["epoch"], ref_p1["loss_unl"], "--", color="gray", lw=1.2)
ax2.axhline(D_WINS_BELOW, color="k", ls=":", lw=1)
ax.set(ylabel="accuracy (%)", ylim=(70, 100))
ax2.set(xlabel="epoch", ylabel="loss_unl (epoch mean)")
for a in (ax, ax2):
    a.grid(alpha=0.3)
ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.02), frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure 10.4.** Seed 1 of both versions at 300 epochs (library), and the reference's paper-era run of seed 1
# for the epochs it ran. Below: the epoch means of `loss_unl`; under the dotted line $D$ wins outright.

# %% tags=["hide-input"]
rows, late = [], []
for name, which, rec, decay in sides:
    e2, lu = rec["loss_epoch"], rec["loss_unl"]
    rows.append(f"| library, {name} | 1 | {which} | {rec['epoch'][-1]:.0f}"
                f" | {rec['acc'][-1]:.2f} | {d_wins(e2, lu)}"
                f" | {100 - rec['test']:.2f} |")
    if decay:  # D wins while the rate falls to 0?
        won = sum(v < D_WINS_BELOW for e, v in zip(e2, lu) if e > e2[-1] - decay)
        late.append(f"in every one of the last {decay:.0f} epochs" if won == decay
                    else f"in {won} of the last {decay:.0f} epochs")
ref_last = ref_acc(ref_p1)[-1]
ref_wins = d_wins(ref_p1["epoch"], ref_p1["loss_unl"])
rows.append(f"| reference, {ref_p1['recipe']} | 1 | raw (test) | {ref_p1['epoch'][-1]}"
            f" | {ref_last:.2f} (test) | {ref_wins} | – |")
display(Markdown(
    "| run | seed | D | epochs | accuracy at the end (%) | D-wins epochs"
    " | test error (%) |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows)
    + "\n\n*Library: validation accuracy at the last evaluation, test error measured"
      " once after the last step. Reference: its own log, test set, raw D.*"))
glue("ch10_p300_late", late[0])
glue("ch10_p300_last", sides[0][2]["acc"][-1])
def in_words(wins):
    """d_wins' '297 of 300 (epochs 2-300)' as '297 of 300 epochs (2-300)' (prose)."""
    if "(" not in wins:
        return wins + " epochs"
    return wins.replace(" (epochs ", " epochs (", 1)


glue("ch10_p300_wins", in_words(d_wins(sides[0][2]["loss_epoch"], sides[0][2]["loss_unl"])))
glue("ch10_refp_epochs", float(ref_p1["epoch"][-1]))
glue("ch10_refp_last", ref_last)
glue("ch10_refp_wins", in_words(ref_wins))

# %% [markdown]
# With seed 1 the library's paper-era version as written enters the D-wins phase early and never leaves it: $D$
# wins outright in {glue:text}`ch10_p300_wins`. The rate falls to 0 over the last epochs, and $D$ wins
# {glue:text}`ch10_p300_late`. The run ends at {glue:text}`ch10_p300_last:.2f` % validation accuracy: more epochs
# did not rescue it.
#
# The reference's paper-era run of the same seed does something else: $D$ wins in
# {glue:text}`ch10_refp_wins`, then leaves the phase, and after {glue:text}`ch10_refp_epochs:.0f` epochs that run
# stands at {glue:text}`ch10_refp_last:.2f` % on the test set. **This difference is unexplained.** The records
# rule out some causes: the two codes agree step by step in the oracle test (paper-era version included), and a
# library run with Theano's float32 cut-offs falls back too. What they cannot rule out is chance: "seed 1" draws
# different weights, batches and noise in the two codes, and the paper-era runs are few (the reference's two
# leave the phase; of the library's paper-era runs, seeds 3-5, 20 epochs at the constant rate, leave it, while
# seeds 1 and 2 fall back, seed 1 in both of its runs). So few runs cannot settle the question; the library's
# default is the final version.
#
# ## The headline beside the reference and the port
#
# [Chapter 6](06_improved_gan) gives the headline itself: three 300-epoch runs of the default recipe, their test errors and the
# verdict. Figure 10.5 sets their validation curves beside the reference's runs of the same script (test set, for
# the epochs they ran) and the port's 300 epochs.

# %% tags=["hide-input"]
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.4), sharey=True)
for seed, rec in lib.items():
    ax.plot(rec["epoch"], rec["acc"], lw=1.2,
            label=f"library, seed {seed} (validation)")
for r in reference["runs"]:
    if r["recipe"] == "final":
        ax2.plot(r["epoch"], ref_acc(r), "--", lw=1, color="gray", alpha=0.8)
ax2.plot([], [], "--", color="gray", label="reference, final, 3 seeds (test, raw D)")
ax2.plot(port["epoch"], port_acc, ":", lw=1.8, color="k",
         label=f"Chainer port, seed {port['seed']} (test)")
for a in (ax, ax2):
    a.axhline(100 - PAPER_ERRORS[100], color="k", ls="-.", lw=1,
              label=f"paper: {100 - PAPER_ERRORS[100]:.2f} % test")
    a.set(xlabel="epoch", xlim=(0, 300), ylim=(95, 100))
    a.grid(alpha=0.3)
    a.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.28),
             frameon=False)
ax.set_ylabel("accuracy (%)")
fig.tight_layout()
plt.show()
since = 250
gains = {s: rec["acc"][-1] - at_epoch(rec["epoch"], rec["acc"], since)
         for s, rec in lib.items()}
glue("ch10_gain", ", ".join(f"{g:+.2f}" for g in gains.values()))

# %% [markdown]
# **Figure 10.5.** Left: the library's three 300-epoch runs (validation accuracy of the averaged $D$). Right: the
# reference's runs of the final script for the epochs they ran, and the Chainer port's 300 epochs (test accuracy).
# The dash-dotted line is the paper's 99.07 % test accuracy (100 % minus its mean test error of 0.93 %). Both
# axes start at 95 %: each reference run shows only from where it passed 95 % to where it stopped.
#
# From epoch 250 to the end the library's runs moved by {glue:text}`ch10_gain` points of validation accuracy, seed
# by seed: they had levelled off. Where each run levels off is what [chapter 6](06_improved_gan) compares with the paper.
#
# ## Both codes on the same labelled images
#
# Seeds apart, the two codes can also be run on the *same* 100 (or 20) labelled images. A small harness runs the
# authors' final script unchanged except for its labelled set: the library's labelled subset is handed in, the
# library's 5,000 validation images are kept out of the labelled pool (as in the library, all 60,000 training
# images stay in the unlabelled data) and measured, epoch by epoch, with the script's averaged $D$ (noise off).
# Each stored record (`book/results/reference/`) names its subset, labels, epochs and the script's commit. Beside
# each, the library's stored run that labels the same images: the headline's seed $s$ at 100 labels, [chapter 7](07_label_rate)'s
# 20-label run of seed $s$. The library's runs are longer, so the table reads each of them twice: at the last epoch
# of the authors' code (from the library's stored curve) and at its own end.

# %% tags=["hide-input"]
from matplotlib.lines import Line2D

same = []  # one row per stored reference record
for f in sorted(results_path("reference").glob("labels*-subset*.json")):
    rec = read_result(f"reference/{f.name}")
    n, s = rec["labels"], rec["subset"]
    lib_file = (f"headline/final-300-seed{s}.json" if n == 100
                else f"labels_{n}/seed{s}.json")
    if not results_path(lib_file).exists():
        continue
    lib_curve = per_seed(load_run(results_path(lib_file)))[s]
    ref_ep = [h["epoch"] for h in rec["history"]]
    ref_val = [100 * h["val_acc_avg"] for h in rec["history"]]
    last = ref_ep[-1]
    same.append(dict(labels=n, subset=s, rec=rec, ref_ep=ref_ep, ref_val=ref_val,
                     ref_end=ref_val[-1],
                     ref_test=100 * rec["history"][-1]["test_err_avg"],
                     lib_ep=lib_curve["epoch"], lib_val=lib_curve["acc"], last=last,
                     lib_at=at_epoch(lib_curve["epoch"], lib_curve["acc"], last),
                     lib_last=lib_curve["epoch"][-1], lib_end=lib_curve["acc"][-1],
                     lib_test=100 - lib_curve["test"], lib_file=lib_file))
rows = [
    "| labels | subset | authors' code: epochs | val. (%) | test err. (%) "
    "| library, same epoch: val. (%) | library's end: epochs | val. (%) "
    "| test err. (%) |",
    "|---|---|---|---|---|---|---|---|---|",
]
for r in same:
    rows.append(f"| {r['labels']} | {r['subset']} | {r['last']} | {r['ref_end']:.2f}"
                f" | {r['ref_test']:.2f} | {r['lib_at']:.2f} | {r['lib_last']:g}"
                f" | {r['lib_end']:.2f} | {r['lib_test']:.2f} |")
display(Markdown(
    "\n".join(rows) + "\n\n*val.: validation accuracy of the averaged D of each code,"
    " noise off, on the library's 5,000 validation images; test err.: test error after"
    " the last epoch of each run.*"))

panels = []  # (labels, at most two subsets): at most four curves a panel
for n in (100, 20):
    pairs_n = [r for r in same if r["labels"] == n]
    panels += [(n, pairs_n[i:i + 2]) for i in range(0, len(pairs_n), 2)]
fig, axes = plt.subplots(1, len(panels), figsize=(7.2, 3.4))
for ax, (n, group) in zip(axes, panels):
    for r in group:
        c = f"C{r['subset'] - 1}"  # one colour per subset, in every panel
        ax.plot(r["ref_ep"], r["ref_val"], color=c, lw=1.4)
        upto = [(e, v) for e, v in zip(r["lib_ep"], r["lib_val"])
                if e <= r["last"] + 40]
        ax.plot(*zip(*upto), color=c, lw=1.2, ls="--")
    subsets = spoken(str(r["subset"]) for r in group)
    ax.set_title(f"{n} labels, subset{'s' if len(group) > 1 else ''} {subsets}",
                 fontsize=10)
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("validation accuracy (%)")
shown = sorted({r["subset"] for r in same})
handles = [Line2D([], [], color=f"C{s - 1}", lw=3, label=f"subset {s}") for s in shown]
handles += [Line2D([], [], color="k", lw=1.4, label="authors' code"),
            Line2D([], [], color="k", lw=1.2, ls="--", label="library")]
fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9,
           frameon=False)
fig.tight_layout(rect=(0, 0.08, 1, 1))
plt.show()


def pair_names(pairs):
    """(labels, subset) pairs as 'subsets 1 and 3 at 100 labels and subset 1 at 20
    labels'."""
    by_n = {}
    for n, s in pairs:
        by_n.setdefault(n, []).append(str(s))
    return spoken(f"subset{'s' if len(ss) > 1 else ''} {spoken(ss)} at {n} labels"
                  for n, ss in by_n.items())


common_lib = [r for r in same if r["lib_at"] > r["ref_end"]]  # at the same epoch
end_ref = [r for r in same if r["ref_end"] > r["lib_end"]]  # each at its own end
glue("ch10_same_lower", f"{len(common_lib)} of {len(same)}")
glue("ch10_same_gap", ", ".join(
    f"{r['lib_at'] - r['ref_end']:+.2f}"
    f" ({r['labels']} labels, subset {r['subset']})" for r in same))


def fell(r):
    """How the library's run went on after the authors' last epoch, where it fell."""
    return (f"; the library's run stood at {r['lib_at']:.2f} % at epoch {r['last']}"
            f" and ends at {r['lib_end']:.2f} % at epoch {r['lib_last']:g}"
            if r["lib_end"] < r["lib_at"] else "")


glue("ch10_same_end", (
    "Read at each run's own end instead (the library after "
    + spoken(sorted({f"{r['lib_last']:g}" for r in same}, key=float))
    + " epochs), the authors' code ends higher on "
    + spoken(f"subset {r['subset']} at {r['labels']} labels ({r['ref_end']:.2f} %"
             f" against {r['lib_end']:.2f} % validation accuracy{fell(r)})"
             for r in end_ref)
    + (f", the library on the other {len(same) - len(end_ref)}."
       if len(end_ref) < len(same) else ".")
    if end_ref else
    "Read at each run's own end instead, the library's run ends higher in every pair"
    " as well."))
ref20 = [r for r in same if r["labels"] == 20]
glue("ch10_ref20", spoken(f"{r['ref_test']:.2f} % on subset {r['subset']}"
                          f" ({r['last']} epochs)" for r in ref20))
glue("ch10_paper20", PAPER_ERRORS[20])
far = [r for r in ref20 if r["ref_test"] > PAPER_ERRORS[20] + 2 * PAPER_STD[20]]
common_ref = [r for r in same if r not in common_lib]
glue("ch10_same_verdict", (
    "So at the same epoch the library stands higher on every pair"
    + ("; which code ends higher also depends on how long each one runs."
       if end_ref else ", and at each run's end as well.")
    if not common_ref else
    "So at the same epoch the authors' code stands at least as high on "
    + pair_names((r["labels"], r["subset"]) for r in common_ref)
    + ": the difference is still to be found."))
glue("ch10_same_20", (
    "So the authors' code, too, ends outside the paper's mean ± 2 standard deviations"
    f" ({len(far)} of {len(ref20)} subsets, after"
    f" {spoken(sorted({str(r['last']) for r in ref20}, key=int))} epochs): at that"
    " length"
    " the small-label failure of chapter 7 is the recipe's on these subsets, not a"
    " difference between the codes."
    if len(far) == len(ref20) else
    "It ends inside the paper's mean ± 2 standard deviations on"
    f" {len(ref20) - len(far)} of {len(ref20)} subsets."))

# %% tags=["remove-cell"]
# checks of the prose: the figure's panels and the 20-label sentence
assert [n for n, _ in panels] == [100, 100, 20], panels
assert all(len(g) <= 2 for _, g in panels) and ref20, (panels, ref20)

# %% [markdown]
# **Figure 10.6.** Validation accuracy of the averaged $D$ epoch by epoch on the same labelled images: the authors'
# code (solid) and the library (dashed, drawn up to 40 epochs past the authors' last epoch), one colour per subset,
# at most two subsets a panel. Left and middle: 100 labels. Right: 20 labels.
#
# Read at the same epoch (the last of the authors' code), the library's run on the same images stands higher in
# {glue:text}`ch10_same_lower` pairs (library minus authors' code, in points: {glue:text}`ch10_same_gap`).
# {glue:text}`ch10_same_end` {glue:text}`ch10_same_verdict`
#
# At 20 labels the authors' code ends with a test error of {glue:text}`ch10_ref20`, against the paper's
# {glue:text}`ch10_paper20:.2f` % (a mean over 10 subsets after 300 epochs). {glue:text}`ch10_same_20`
#
# Which digits does each code mistake for which? Every stored record keeps the class its averaged $D$ gives each
# validation image at its last epoch (the authors' code: `final_pred_val_avg`; the library: `val_predictions`),
# so the errors can be counted by kind, pair by pair. Only those last predictions are stored, so here the two
# codes are read at different epochs: the authors' code where its record ends, the library after its full run
# (each row says which). Each table gives every run's own most frequent confusion, then the three most frequent
# over all its runs.

# %% tags=["hide-input"]
from ssgan_lib.data import load_mnist, validation_split
from ssgan_lib.evidence.records import confusion, confusion_table

train_y = load_mnist("cpu").train_y
val_y = train_y[validation_split(len(train_y), 5000, seed=0)[1]].tolist()


def most_frequent(predictions):
    """(true digit, digit read, count): a one-seed run's most frequent confusion."""
    c = confusion(predictions, val_y)[0]
    t, p = max(((t, p) for t in range(10) for p in range(10) if t != p),
               key=lambda tp: c[tp[0]][tp[1]])
    return t, p, c[t][p]


top_same = []  # per pair: the most frequent confusion of each code
for n in (100, 20):
    runs_n, tops_n = {}, []
    for r in (x for x in same if x["labels"] == n):
        lib_rec = load_run(results_path(r["lib_file"]))
        runs_n[f"subset {r['subset']}: authors' code, epoch {r['last']}"] = {
            "val_predictions": [r["rec"]["final_pred_val_avg"]]}
        runs_n[f"subset {r['subset']}: library, epoch {lib_rec['epochs']:g}"] = {
            "val_predictions": lib_rec["val_predictions"]}
        a, b = (most_frequent(m["val_predictions"])
                for m in list(runs_n.values())[-2:])
        tops_n += [a, b]
        top_same.append((n, r["subset"], a[:2], b[:2]))
    table_n, _ = confusion_table(runs_n, val_y)
    head, rule, *body = table_n.splitlines()
    table_n = "\n".join(
        [head.replace("| |", "| | the run's most frequent |", 1), rule + "---|"]
        + [row.replace(" | ", f" | {t} read as {p} ({k}) | ", 1)
           for row, (t, p, k) in zip(body, tops_n)])
    note = ("*Validation images (5,000) read as another digit: each run's most frequent"
            " confusion (its count), then the three most frequent over these runs;"
            " averaged D of each code at the epoch in its row.*")
    display(Markdown(f"**{n} labels.**\n\n{table_n}\n\n{note}"))
agree_top = [(n, s) for n, s, a, b in top_same if a == b]
glue("ch10_top_same", ", ".join(
    f"{'the same' if a == b else 'not the same'} on subset {s} at {n} labels"
    f" ({a[0]} read as {a[1]}" + ("" if a == b else f" against {b[0]} read as {b[1]}") + ")"
    for n, s, a, b in top_same))
glue("ch10_top_agree", f"{len(agree_top)} of {len(top_same)}")

# %% [markdown]
# The most frequent confusion of the authors' code and of the library (the tables' second column) is the same in
# {glue:text}`ch10_top_agree` pairs, the authors' code named first: {glue:text}`ch10_top_same`.
#
# ## What these runs conclude
#
# Three questions, answered from the stored records only. (1) Do the two codes end alike on the same images? Two
# runs of one code on one subset differ too, through their weights, noise and batch order; [chapter 7](07_label_rate)'s
# seed-or-subset runs measure that spread (the library, three weight seeds on each of two subsets), and a gap
# between the codes counts only where it is larger. (2) How much of the spread between runs is the subset? Chapter
# 7's same runs, and the authors' code on three subsets. (3) The paper's ± 0.065 is a standard deviation over ten
# random subsets (its section 6.1): does the authors' own code keep its 100-label runs that close together?

# %% tags=["hide-input"]
seed_subset = {
    int(f.stem.split("-")[1]): load_run(f)
    for f in sorted(results_path("seed_vs_subset").glob("subset-*.json"))
}
within = {d: val_curve(r, "averaged")[1][-1] for d, r in seed_subset.items()}
spread_seeds = max(
    max(v) - min(v) for v in within.values()
)  # weight seeds, one subset
subset_means = [statistics.fmean(v) for v in within.values()]
seed_means = [statistics.fmean(col) for col in zip(*within.values())]
ss_epochs = last_val(next(iter(seed_subset.values())))["epoch"]
gap = {(r["labels"], r["subset"]): r["lib_at"] - r["ref_end"] for r in same}
# the yardstick a gap between the codes is read against, per label count: at 100
# labels the spread between weight seeds on one subset; at 20 labels no such runs
# exist, so the spread between the library's own 20-label runs (each its own subset
# and seeds) at the same epoch
yard = {100: spread_seeds}
loose = {}  # label count -> (the library's runs there, the epoch they are read at)
for n in sorted({r["labels"] for r in same} - {100}):
    lib_n = [per_seed(load_run(f))[int(f.stem.removeprefix("seed"))]
             for f in sorted(results_path(f"labels_{n}").glob("seed*.json"))]
    ep_n = max(r["last"] for r in same if r["labels"] == n)
    at_n = [at_epoch(c["epoch"], c["acc"], ep_n) for c in lib_n]
    yard[n] = max(at_n) - min(at_n)
    loose[n] = (len(at_n), ep_n)
alike = [k for k, g in gap.items() if abs(g) <= yard[k[0]]]
lib_better = [k for k, g in gap.items() if g > yard[k[0]]]
ref_better = [k for k, g in gap.items() if g < -yard[k[0]]]
end_gap = {(r["labels"], r["subset"]): r["ref_end"] - r["lib_end"] for r in end_ref}

# the shipped rerun of a headline seed: same recipe, seed, subset and length, another
# machine's rounding (chapter 6)
reruns = [(m, read_result(f"headline/final-300-seed{m['seed']}.json"))
          for m in read_result("models/manifest.json").values()
          if m["recipe"] == "final" and m["labels"] == 100 and m["finished"]]
# each rerun's last validation accuracy against its headline run's (points)
rerun_val_gap = {m["seed"]: abs(100 * m["val_accuracy_float32"]
                                - per_seed(h)[m["seed"]]["acc"][-1])
                 for m, h in reruns}
ref100 = {r["subset"]: r for r in same if r["labels"] == 100}
ref100_err = {s: r["ref_test"] for s, r in ref100.items()}
ref100_ep = spoken(str(r["last"]) for r in ref100.values())  # in subset order
longest = max(r["last"] for r in ref100.values())
wins_from = {
    s: next(
        (
            h["epoch"]
            for i, h in enumerate(r["rec"]["history"])
            if all(x["loss_unl"] < D_WINS_BELOW for x in r["rec"]["history"][i:])
        ),
        None,
    )
    for s, r in ref100.items()
}
collapsed = [s for s, e in wins_from.items() if e is not None]
kept = [e for s, e in ref100_err.items() if s not in collapsed]
paper_band = 4 * PAPER_STD[100]  # the width of mean ± 2 sd
span_sub = max(subset_means) - min(subset_means)
span_seed = max(seed_means) - min(seed_means)
span_kept = max(kept) - min(kept) if len(kept) > 1 else None
within_paper = span_kept is not None and span_kept <= paper_band and not collapsed
parts = [f"those on {pair_names(alike)} lie within it"] if alike else []
parts += [f"on {pair_names(k)} the {who} stands higher by more"
          for k, who in ((lib_better, "library"), (ref_better, "authors' code")) if k]
one = (
    f"**(1) Alike on the same images?** Chapter 7's library runs on one subset span up"
    f" to {spread_seeds:.2f} points of validation accuracy between weight seeds (after"
    f" {ss_epochs:g} epochs): the yardstick for a gap between the codes at 100 labels."
    + "".join(
        f" At {n} labels no weight seeds were run on one subset; the library's"
        f" {runs_n} runs there (each on its own subset, with its own seeds) span"
        f" {yard[n]:.2f} points at epoch {ep_n}, a looser yardstick."
        for n, (runs_n, ep_n) in loose.items())
    + " Of the gaps between the codes at the same epoch (listed under Figure 10.6), "
    + "; ".join(parts) + "."
    + "".join(
        " Read at each run's own end, the authors' code is higher on"
        f" {pair_names([k])}, by {g:.2f} points,"
        f" {'more than' if g > yard[k[0]] else 'within'} its yardstick."
        for k, g in end_gap.items())
)
two = (
    f"**(2) The subset's share.** In chapter 7's {len(subset_means) * len(seed_means)}"
    f" runs the {len(subset_means)} subsets' means differ by {span_sub:.2f} points and"
    f" the {len(seed_means)} weight seeds' means by {span_seed:.2f}: there the subset"
    f" moves the result {span_sub / span_seed:.1f} times as much as the weights, noise"
    " and batch order. The authors' code at 100 labels ends at "
    + spoken(f"{e:.2f} %" for e in ref100_err.values())
    + f" test error on subsets {spoken(str(s) for s in ref100_err)} (after"
    f" {ref100_ep} epochs; each of these runs also has its own weight seed, so there"
    " subset and seed are not separated)"
    + "".join(
        f"; on subset {s} $D$ wins outright from epoch {wins_from[s]} on and the run"
        " stops learning from the unlabelled images"
        for s in collapsed
    )
    + "."
    + "".join(
        " Nor does the subset settle a single run: the headline's seed"
        f" {m['seed']} ended"
        f" at {h['test_error']:.2f} % test error, a rerun with the same recipe, seed,"
        f" subset and {m['epochs']:g} epochs at {m['test_error']:.2f} %"
        f" ({abs(h['test_error'] - m['test_error']):.2f} points apart; chapter 6),"
        " the two differing only in float32 rounding"
        + (" (the rerun's library is a later, faster version of the step, and the CPUs"
           " and thread counts the two ran on were not the same)"
           if h["commit"] != m["commit"] else " (the CPUs and thread counts the two ran"
           " on were not the same)")
        + ". That is enough for a GAN to end elsewhere, so one run per subset measures"
        " subset and chance together. Their validation accuracies differ by"
        f" {rerun_val_gap[m['seed']]:.2f} points, "
        + ("more than the subsets' means above: two subsets and three seeds cannot"
           " rank the subset against chance." if rerun_val_gap[m["seed"]] > span_sub
           else "less than the subsets' means above.")
        for m, h in reruns if m["epochs"] == h["epochs"]
    )
)
# the same comparison for chapter 7's takeaway on seed or subset
glue("ch10_rerun_vs_subset", "; ".join(
    f"a rerun of seed {s} that changed only the float32 rounding moved its validation"
    f" accuracy by {g:.2f} points, {'more' if g > span_sub else 'less'} than the"
    f" {span_sub:.2f} between the two subsets' means" for s, g in rerun_val_gap.items())
    or "no rerun is stored", display=False)
three = (
    f"**(3) The paper's ± {PAPER_STD[100]:.3g}.** "
    + (
        f"The authors' runs that stayed a GAN differ by {span_kept:.2f} points of test"
        f" error, {span_kept / paper_band:.1f} times the width of the paper's mean ± 2"
        f" standard deviations ({paper_band:.2f} points)"
        if span_kept is not None
        else "Fewer than two of the authors' runs stayed a GAN"
    )
    + (f", and {len(collapsed)} of {len(ref100_err)} did not stay a GAN"
       if collapsed else "")
    + f": after at most {longest} epochs (the paper's runs had 300), the authors'"
    + (" code keeps" if within_paper else " code does not keep")
    + " its 100-label runs on these subsets within the paper's spread."
    + (" Whether it would after 300 epochs, these records cannot say."
       if longest < 300 else "")
)
display(Markdown("\n\n".join([one, two, three])))

# the results at a glance: test error (%), the paper, the library, the authors' code
def epochs_of(runs, key):
    """'60' when every run has that many epochs, else '67, 65 and 100' (in order)."""
    eps = [f"{r[key]:g}" for r in runs]
    return eps[0] if len(set(eps)) == 1 else spoken(eps)


cells, book_runs, ref_runs = {}, [], []
for n, folder, pattern in ((100, "headline", "final-300-seed*.json"),
                           (20, "labels_20", "seed*.json")):
    refs = [r for r in same if r["labels"] == n]
    libs = [read_result(f"{folder}/{f.name}")
            for f in sorted(results_path(folder).glob(pattern))]
    errs = [m["test_error"] for m in libs]
    pm = "\u00a0±\u00a0"  # no line break inside "0.93 ± 0.065" in a narrow column
    cells[n] = (
        f"{PAPER_ERRORS[n]:.2f}{pm}{PAPER_STD[n]:.3g}",
        f"{statistics.fmean(errs):.2f}{pm}{statistics.stdev(errs):.2f}",
        ", ".join(f"{r['ref_test']:.2f}" for r in refs),
    )
    for key, text in zip(("paper", "book", "ref"), cells[n]):
        glue(f"ch10_glance_{key}{n}", text)
    book_runs.append(f"{len(libs)} runs of {epochs_of(libs, 'epochs')} epochs at {n}"
                     " labels")
    ref_runs.append(f"subsets {spoken(str(r['subset']) for r in refs)} at {n} labels"
                    f" after {epochs_of(refs, 'last')} epochs")
glance_note = (
    "The paper: 300 epochs, mean ± standard deviation over 10"
    f" random subsets. This book: the library, {spoken(book_runs)}, mean ± sample"
    " standard deviation. The authors' code: one run per subset, on the library's"
    f" subsets ({spoken(ref_runs)}); the library's run of seed s labels subset s.")
glue("ch10_glance_note", glance_note)
display(Markdown(
    "**At a glance** (the introduction shows the same table):\n\n"
    "| labels | paper | this book | authors' code |\n|---|---|---|---|\n"
    + "".join(f"| {n} | {' | '.join(c)} |\n" for n, c in cells.items())
    + f"\n*MNIST test error (%) of SSGAN-FM. {glance_note}*"))
# the same answers in two sentences, for the results boxes of the introduction and
# chapters 6 and 7 (plain text: they are pasted into those pages)
n100, n20 = (sum(r["labels"] == n for r in same) for n in (100, 20))
common = [f"lies within the spread of the library's own runs (between its weight seeds"
          f" at 100 labels, between its runs at 20) on {len(alike)} of the {len(same)}"
          " pairs"]
common += [f"lies {word} that spread on {len(k)}"
           for k, word in ((lib_better, "below"), (ref_better, "above")) if k]
glue("ch10_box", (
    f"On the library's own labelled images ({n100} subsets at 100 labels,"
    f" {n20} at 20), the validation accuracy of the authors' code, read at its last"
    f" epoch beside the library's at the same epoch, {spoken(common)}; read at each"
    " run's own end, "
    + ("the authors' code ends higher on "
       + spoken(f"subset {r['subset']} at {r['labels']} labels (its run stopped at epoch"
                f" {r['last']}, the library's at {r['lib_last']:g}"
                + (f", which had stood higher at epoch {r['last']}"
                   if r["lib_at"] > r["ref_end"] else "") + ")"
                for r in end_ref) + "."
       if end_ref else "the library's ends higher on every pair.")
    + " At 100 labels its runs end at"
    f" {spoken(f'{e:.2f}' for e in ref100_err.values())}"
    f" % test error after {ref100_ep} epochs"
    + (f" ({len(collapsed)} of them with D winning outright to the end: its loss on"
       " unlabelled and generated images near 0, so it stops learning from them)" if collapsed
       else "")
    + f", so after at most {longest} epochs its own code "
    + ("reproduces" if within_paper else "does not reproduce")
    + f" the paper's ± {PAPER_STD[100]:.3g} on these subsets (the paper's runs had 300"
    " epochs)."), display=False)

# %% [markdown]
# ## Which details matter: one switch at a time
#
# Ports of this recipe often change one of its details without noticing: they train the hidden weight-norm scales
# (`torch.nn.utils.weight_norm` does), use `torch.optim.Adam` (epsilon outside the square root), or skip the
# data-dependent initialisation. `ssgan_lib.ablation` names these variants (each a change of `TrainConfig` fields),
# and `python -m ssgan_lib train` has a flag for each (`--hidden-scale trainable`, `--adam-eps outside`,
# `--no-data-init`). The stored ablation (`book/results/ablation_cpu.json`, a short CPU run) trains them all with
# the same seeds and compares them on the **validation** split; the test set plays no part in it.

# %% tags=["hide-input"]
abl = read_result("ablation_cpu.json")["variants"]
fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.4), sharey=True)
groups = (["reference", "trainable-scales", "adam-eps-outside", "no-data-init"],
          ["reference", "all-three"])
for ax, names in zip(axes, groups):
    for name in names:
        ep, vals = val_curve(abl[name])
        line, = ax.plot(ep, seed_mean(vals), lw=1.4, label=abl[name]["what"])
        ax.fill_between(ep, [min(v) for v in vals], [max(v) for v in vals],
                        color=line.get_color(), alpha=0.15)
    ax.set(xlabel="epoch", ylim=(60, 100))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.28),
              frameon=False)
axes[0].set(ylabel="validation accuracy (%)", title="one switch at a time")
axes[1].set(title="all three at once")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure 10.7.** The ablation: validation accuracy of the averaged $D$, 100 labels, mean over the seeds (band:
# lowest to highest seed). Left: the reference recipe and each single change; right: the reference recipe and all
# three changes together.

# %% tags=["hide-input"]
rows = sorted(({"variant": n, "what": m["what"], **last_val(m)}
               for n, m in abl.items()), key=lambda r: -r["mean"])
any_run = abl["reference"]
display(Markdown(
    "| rank | variant | seeds | epochs | last validation acc. (%): mean | min | max |\n"
    "|---|---|---|---|---|---|---|\n"
    + "".join(f"| {i} | {r['what']} | {r['seeds']} | {r['epoch']:.0f} |"
              f" {r['mean']:.2f} | {r['min']:.2f} | {r['max']:.2f} |\n"
              for i, r in enumerate(rows, 1))
    + f"\n*Ranked by the mean. Device: {any_run['device_name']}, ssgan_lib"
      f" {any_run['ssgan_lib']}, {any_run['time'][:10]}; seeds {any_run['seed']} to"
      f" {any_run['seed'] + any_run['seeds'] - 1}, the same for every variant.*"))
rank = {r["variant"]: i for i, r in enumerate(rows, 1)}
ref, ddi = (next(r for r in rows if r["variant"] == v)
            for v in ("reference", "no-data-init"))
glue("ch10_abl_epochs", ref["epoch"])
glue("ch10_abl_n", len(rows))
glue("ch10_abl_ranking", "; ".join(f"{i}. {r['what']} ({r['mean']:.2f} %)"
                                   for i, r in enumerate(rows, 1)))
glue("ch10_abl_ddi", f"ranks {rank['no-data-init']} of {len(rows)} ({ddi['mean']:.2f} %),"
     f" {abs(ddi['mean'] - ref['mean']):.2f} points"
     f" {'above' if ddi['mean'] > ref['mean'] else 'below'} the reference recipe"
     f" (rank {rank['reference']}, {ref['mean']:.2f} %)")
glue("ch10_abl_ddi_hurts", "show" if ddi["mean"] < ref["mean"] else "do not show")

# %% [markdown]
# Ranked by their mean validation accuracy after {glue:text}`ch10_abl_epochs:.0f` epochs, the variants stand:
# {glue:text}`ch10_abl_ranking`. Skipping the data-dependent initialisation {glue:text}`ch10_abl_ddi`. In the
# 90-epoch recipe runs above, the paper-era version without its initialisation machinery (`paper-90-no-ddi`: no
# data-dependent initialisation of D or G, and trainable hidden scales) {glue:text}`ch10_noddi_90`. So
# the stored runs {glue:text}`ch10_abl_ddi_hurts` skipping it to be a pitfall, although it does fix the scale of
# the first steps ([chapter 6](06_improved_gan)'s table).
#
# Read such a table with care all the same. Two seeds are few (the bands show how far they lie apart), and a
# short run measures how fast each variant *starts*, not where it *ends*: the recipe is meant for 300 epochs, and
# this run sees the first {glue:text}`ch10_abl_epochs:.0f`. Frozen scales and the epsilon inside the square root
# both make the late updates of small-gradient weights smaller; whether that pays off at the end only a
# full-length version of this table can say. The library keeps the reference's choices as its defaults because
# they are the reference's, not because this table ranks them first.
#
# ## Reproduce this appendix
#
# Every figure and table above reads stored records. To make new ones: the step-by-step check of the library
# against the authors' code runs in the test suite (the library side, against stored dumps of the Theano run);
# the authors' script on one of the library's labelled subsets needs a Python environment with Theano and
# Lasagne, whose set-up `book/_tools/reference_oracle/README.md` describes (with the float32 cut-off experiment and
# every other command of the oracle):
#
# ```bash
# python -m pytest tests/test_reference_oracle.py
# cd book/_tools/reference_oracle
# python export_subset.py --labels 100 --seed 1 --out subset1.npz  # the library's subset
# THEANO_FLAGS=floatX=float32,device=cpu,mode=FAST_RUN \
#     /path/to/theano-env/bin/python run_full.py --subset subset1.npz --seed 1 \
#     --epochs 300 --repo /path/to/improved-gan/.git --out runs/labels100-subset1
# python collect.py runs/labels100-subset1 ../../results/reference/labels100-subset1.json
# ```
#
# The library's own runs are one command each; their records give the exact command they came from (the key
# `command`), e.g. `python -m ssgan_lib train --labels 100 --recipe paper-2016-06 --epochs 90 --seeds 2` for
# `paper-90`, and the ablation's switches are the flags named in "Which details matter".
#
# ## What to watch for
#
# - **Comparing single runs of two codes**: a GAN amplifies rounding differences, so two codes that agree step by
#   step still end apart. Compare over seeds, and over labelled subsets.
# - **Test and validation curves side by side**: the reference's and the port's logs are on the test set, the
#   library's on the validation split. Compare shapes, never pick anything by the test curve.
# - **Uncorrected averages**: a port that reads its average without the bias correction shows a shrunk $D$ for
#   the first few dozen epochs.
# - **The D-wins phase**: an epoch mean of `loss_unl` below 0.01 for many epochs means the unlabelled images no
#   longer help; check for it before reading a final accuracy.
# - **Short ablations**: they rank how fast variants start. Rank in code, state what the numbers show, and say how
#   many seeds and epochs stand behind them.
#
# ## Exercises
#
# :::{exercise}
# :label: ch10-worst-seed
#
# Rank the variants of the stored ablation (`read_result("ablation_cpu.json")["variants"]`) by the validation
# accuracy of their *worst* seed at the last evaluation instead of the mean. Does the variant without the
# data-dependent initialisation still rank above the reference recipe?
# :::
#
# :::{solution} ch10-worst-seed
# :class: dropdown
#
# ```python
# from ssgan_lib.evidence import read_result
# from ssgan_lib.evidence.records import last_val
#
# abl = read_result("ablation_cpu.json")["variants"]
# worst = {m["what"]: last_val(m)["min"] for m in abl.values()}
# for what, acc in sorted(worst.items(), key=lambda kv: -kv[1]):
#     print(f"{acc:6.2f}  {what}")
# ```
# The `min` column of the table above gives the same numbers; compare the rows of the reference recipe and of
# "no data-dependent init". With two seeds per variant, a ranking by the worst seed and one by the mean can
# differ: say how many seeds stand behind any ranking you report.
# :::
#
# :::{exercise}
# :label: ch10-d-wins
#
# Write `wins(epochs, loss_unl)` that returns the epochs whose mean `loss_unl` is below 0.01, and the first epoch
# from which every later epoch is below it (or `None`). Apply it to `paper-300` (`book/results/recipe/`) and compare
# with the table of "Both versions at the paper's length" and with `ssgan_lib.evidence.records.d_wins`.
# :::
#
# :::{solution} ch10-d-wins
# :class: dropdown
#
# ```python
# from ssgan_lib.evidence import results_path
# from ssgan_lib.evidence.records import d_wins, epoch_means, load_run
#
# def wins(epochs, loss_unl, below=0.01):
#     won = [e for e, v in zip(epochs, loss_unl) if v < below]
#     start = None
#     for e, v in zip(reversed(epochs), reversed(loss_unl)):
#         if v >= below:
#             break
#         start = e
#     return won, start
#
# m = load_run(results_path("recipe/paper-300.json"))
# e, lu = epoch_means(m, "loss_unl")
# col = [v[0] for v in lu]
# won, start = wins(e, col)
# print(len(won), "epochs, every epoch from", start, "on")
# print(d_wins(e, col))
# ```
# :::
#
# :::{exercise}
# :label: ch10-anneal
#
# From `recipe/final-90.json` and `recipe/final-anneal-90.json`, compute per seed the difference of the averaged
# $D$'s validation accuracy at every evaluation of the last 30 epochs (the two runs are identical up to epoch 60).
# Is the largest difference larger than the gap between the two seeds of `final-90` at the end?
# :::
#
# :::{solution} ch10-anneal
# :class: dropdown
#
# ```python
# from ssgan_lib.evidence import results_path
# from ssgan_lib.evidence.records import load_run, val_curve
#
# (ep, a), (_, c) = (val_curve(load_run(results_path(f"recipe/{n}.json")))
#                    for n in ("final-anneal-90", "final-90"))
# diffs = [[x - y for x, y in zip(ra, rc)] for e, ra, rc in zip(ep, a, c) if e > 60]
# largest = max(abs(d) for row in diffs for d in row)
# gap = max(c[-1]) - min(c[-1])
# print(f"largest difference {largest:.2f} points, seed gap {gap:.2f} points")
# ```
# Figure 10.3 (middle) draws the same differences.
# :::
#
# ## References
#
# - T. Salimans, I. Goodfellow, W. Zaremba, V. Cheung, A. Radford, X. Chen. [*Improved Techniques for Training
#   GANs*](https://arxiv.org/abs/1606.03498). NeurIPS 2016; reference code
#   [github.com/openai/improved-gan](https://github.com/openai/improved-gan) (`train_mnist_feature_matching.py`,
#   both versions: see the recipes table above).
# - H. Kato. [*improved_gan_chainer*](https://github.com/hiroharu-kato/improved_gan_chainer), a Chainer port of the
#   reference MNIST script (the log read here: commit ac030fbd).
# - T. Salimans, D. P. Kingma. [*Weight Normalization: A Simple Reparameterization to Accelerate Training of Deep
#   Neural Networks*](https://arxiv.org/abs/1602.07868). NeurIPS 2016.
# - A. Oliver, A. Odena, C. Raffel, E. D. Cubuk, I. J. Goodfellow. [*Realistic Evaluation of Deep Semi-Supervised
#   Learning Algorithms*](https://arxiv.org/abs/1804.09170). NeurIPS 2018.

# %%
print(run)
