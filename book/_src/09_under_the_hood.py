# %% [markdown]
# # 9. Under the hood: how the fast training loop works
#
# **Learning goals**
#
# - See why, on a GPU, a small GAN step is expected to be bound by *launches* and *host synchronisation* rather
#   than by arithmetic, and what the same step is made of on a CPU.
# - Know the techniques `ssgan_lib.train.Trainer` uses: data on the device, batches by permutation and slicing,
#   device-side randomness, no host sync per step, one concatenated forward, a multi-tensor optimiser, CUDA graphs,
#   seeds in parallel.
# - Measure instead of guessing: `python -m ssgan_lib bench` times the step's matrix work alone, the plain loop and
#   the library loop in one process.

# %% [markdown]
# ## Running this chapter
#
# Sizes follow the machine: *cpu* without a GPU, *gpu* on one such as Colab's T4, *full* (the paper's
# sizes) only when asked. The cell below (click to show it) sets the size and gives each size's expected
# training time; the run-info line at the end says how long this copy took.

# %% tags=["hide-cell"]
from ssgan_lib.evidence.runinfo import RunInfo, glue  # glue: numbers for the text

run = RunInfo("09 under the hood")
seeds = run.pick(smoke=2, cpu=4, full=10)  # seeds side by side in the third benchmark
# SSGAN steps of each benchmark: a plain loop, the library's loop, the library's with
# `seeds` seeds
steps = run.size(
    smoke=5,
    cpu=40,
    gpu=500,
    full=500,
    work={"ssgan": dict(smoke=4, cpu=6, gpu=12, full=12)},
)
run.explain()

# %% [markdown]
# ## How much work is one step?
#
# One step of the MNIST recipe is a D update on three batches of 100 (labelled, unlabelled, generated) and a G
# update through D. D has about 1.5 M weights, G about 0.7 M. A dense layer costs $2\,n_{\text{in}} n_{\text{out}}$
# FLOP per image forward and about twice that backward, so the whole step is {glue:text}`step_gflop:.2f` GFLOP
# (counted with `torch.utils.flop_counter`; `ssgan_lib.evidence.runinfo.STEP_GFLOP`). A large GPU does float32
# matrix work at tens of TFLOP/s (tens of thousands of GFLOP a second), so on an H100 this much arithmetic is a
# fraction of a millisecond. A plain PyTorch loop has other costs, and they do not shrink with the arithmetic:
#
# - **Kernel launches.** Each eager operation (a matmul, an add, a ReLU, each Adam update of each tensor) is a
#   separate kernel launch costing several microseconds of CPU time. A step has hundreds of them.
# - **Host synchronisation.** `loss.item()` waits until the GPU has finished everything queued, so the CPU cannot
#   run ahead and queue the next step: the GPU idles while Python runs.
# - **Data loading.** A `DataLoader` that collates 100 tiny images on the CPU, then copies them over, costs more
#   than the step itself.
#
# ## The techniques, one by one
#
# 1. **The dataset on the device.** MNIST is 60,000 × 784 floats, 188 MB: it fits on any GPU. `load_mnist(device)`
#    converts it once. A batch is an index lookup `train_x[idx]`, a single kernel.
# 2. **Batches by permutation and slicing.** Each epoch draws a permutation on the device (`argsort` of uniform
#    noise, one per seed); step $k$ takes positions $[kB, (k+1)B)$. The position $k$ is a *device* tensor, so the
#    slice is computed on the GPU and the step never asks Python for it.
# 3. **Device-side randomness.** Latent codes, Gaussian-layer noise and permutations come from one
#    `torch.Generator` on the device; its state is saved in checkpoints, so runs resume exactly.
# 4. **No sync per step.** Losses are added into a small device tensor; the host reads it every `log_every` steps.
#    A NaN check rides along: the first bad step is recorded on the device with `torch.where`, and reported at the
#    next read-out.
# 5. **One forward instead of three.** D has no batch norm, so `D(cat[x_lab, x_unl, G(z)])` equals three separate
#    forwards (with independent noise) at a third of the launches.
# 6. **One launch per line of the optimiser.** A per-parameter Adam loop launches about seven kernels for each of
#    the 20 weight tensors of the two players. `PaperAdam` and `ParamAverage` use PyTorch's multi-tensor
#    (`torch._foreach_*`) operations instead: each line of the update is one launch for all tensors. A test checks
#    them against the per-parameter loop.
# 7. **The whole step as a CUDA graph.** With static shapes and no host values, the step — both forwards and
#    backwards, both Adam updates (the learning rate and step count are device tensors), parameter averaging —
#    is captured once with `torch.cuda.graph` and then replayed: one launch per step.
# 8. **Seeds in parallel.** Every weight has a leading seed axis $S$; layers are batched matmuls
#    (`torch.baddbmm`). $S$ independent runs (own weights, own labelled subset, own noise) advance in one step.
#    Matmuls this small leave most of a large GPU idle, so there $S$ runs should cost much less than $S$ times
#    one; on a CPU, which is already busy with one, they cost about $S$ times. The benchmark measures it.
#
# The benchmark below runs the plain loop (eager, three forwards, `torch.optim.Adam`, a Python loop for averaging,
# `.item()` per step) and the library loop on the same model, data and device, and beside them the *floor*: the
# step's matrix work alone, as plain `nn.Linear` layers without weight norm, noise, optimiser or averaging. No loop
# of this model can beat the floor; how far a loop stays above it is the time it spends on everything else.

# %%
import matplotlib.pyplot as plt
import torch

from ssgan_lib.bench import run_bench
from ssgan_lib.evidence.runinfo import STEP_GFLOP

glue("step_gflop", STEP_GFLOP["ssgan"], display=False)  # one SSGAN-FM step, per seed

# %%
result = run_bench(run.device, steps=steps, seeds=seeds, json_line=False)

# %%
labels = ["floor\n(matrix work)", "plain loop", "ssgan_lib",
          f"ssgan_lib\n{seeds} seeds"]
per_seed_ms = [
    result["floor_ms_per_step"],
    result["plain_ms_per_step"],
    result["lib_ms_per_step"],
    result["seeds_ms_per_step"] / seeds,
]
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(labels, per_seed_ms, color=["lightgray", "gray", "tab:blue", "tab:green"])
ax.set_ylabel("ms per step and seed")
ax.set_title(f"One training step of 100 images on {result['device_name']}")
for i, v in enumerate(per_seed_ms):
    ax.text(i, v, f"{v:.2f}", ha="center", va="bottom")
ax.set_ylim(0, 1.15 * max(per_seed_ms))  # room for the labels above the bars
fig.tight_layout()
plt.show()

glue("lib_ms", result["lib_ms_per_step"], display=False)
glue("plain_ms", result["plain_ms_per_step"], display=False)
glue("floor_ms", result["floor_ms_per_step"], display=False)
glue("n_seeds", seeds, display=False)
glue("device_name", result["device_name"], display=False)

# %% tags=["remove-cell"]
# the words of the prose, from the measured times. The speed-up is computed as the table's
# "vs plain" column is (plain / library, one decimal), so text and table print one number.
plain, lib, floor = (result[f"{k}_ms_per_step"] for k in ("plain", "lib", "floor"))
lo, hi = result["lib_over_floor_rounds"]
glue("rounds_text", f"{lo:.2f}× to {hi:.2f}×", display=False)
noise = (hi - lo) / result["lib_over_floor"]  # this machine's round-to-round timing noise, relative
r = plain / lib
glue("ratio_text", f"{r:.1f}× as fast as the plain loop"
     + ("" if r >= 1 + noise else ": slower, on this device" if r <= 1 - noise else
        ": within this machine's timing noise of it"),
     display=False)
glue("plain_over_floor", plain / floor, display=False)
glue("lib_over_floor", result["lib_over_floor"], display=False)  # the table's last line
share = 100 * floor / lib  # % of the library's step that is matrix work alone
glue("floor_share", share, display=False)
glue("bound_text", (
    "most of the step is arithmetic, so on this device the step is bound by its"
    " matrix work" if share >= 50 else
    "most of the step is spent outside the matrix work, on the costs that the library's"
    " techniques go after"), display=False)
x = result["seeds_ms_per_step"] / lib
glue("seed_text", f"{seeds} seeds side by side took {x:.1f}× the time of one: " + (
    f"less than {seeds}× by more than this machine's timing noise, so batching seeds saved"
    " time per seed here" if x < seeds * (1 - noise) else
    f"more than {seeds}× by more than the timing noise, so batching seeds cost time per"
    " seed here" if x > seeds * (1 + noise) else
    f"{'less' if x < seeds else 'more'} than {seeds}×, but within this machine's timing"
    " noise of it: no saving per seed that this measurement can tell from noise"),
    display=False)

# %% [markdown]
# **Figure 9.1.** Milliseconds per training step and seed (value above each bar) on this run's device, named in the
# title: the floor (the step's matrix work alone), the plain loop, the library's loop with one seed, and the
# library's loop with several seeds side by side (its time per step divided by the number of seeds). The closer a
# bar comes to the floor, the less of its step goes to anything but arithmetic. A several-seeds bar lower than the
# single-seed bar would mean that batching seeds saves time per seed.
#
# ### What this run measured
#
# This copy of the chapter ran on {glue:text}`device_name` (the run-info line at the end says so too). There the
# matrix work alone takes {glue:text}`floor_ms:.2f` ms, {glue:text}`floor_share:.0f` % of the library's
# {glue:text}`lib_ms:.2f` ms step (the table's last line: the library's step is {glue:text}`lib_over_floor:.2f`× the
# floor; round by round it ranged from {glue:text}`rounds_text`, a measure of this machine's timing noise):
# {glue:text}`bound_text`. The plain loop takes {glue:text}`plain_ms:.2f` ms,
# {glue:text}`plain_over_floor:.2f`× the floor, and the library's loop runs {glue:text}`ratio_text`.
# {glue:text}`seed_text`.
#
# What lies above the floor is everything else a step does: weight norm, the Gaussian noise of D's layers, the
# Adam updates, the parameter averaging and, on a GPU, the launches and waits that carry them. On a CPU, issuing
# an operation costs microseconds while a layer's arithmetic costs milliseconds, so launches are not what separates
# the two loops there: the library's loop gains by the work it leaves out or does more cheaply (one concatenated
# forward, no autograd graph for what needs no gradient, a hand-written backward for the weight-normed layers).
#
# ### On a GPU: the reason for the design
#
# The techniques above are built for the other case. On a GPU the {glue:text}`step_gflop:.2f` GFLOP of a step are a
# small job, while a plain eager step still issues hundreds of kernels, each costing the CPU several microseconds,
# and waits for the GPU at every `.item()`. With so little arithmetic, those fixed costs are expected to make up
# most of the plain loop's step, and they are what techniques 1-8 remove. The library's targets, on an H100: at
# least 10× the plain loop per step (at most 1.3 ms per step of 100 images, which puts the paper's 300 epochs,
# 180,000 steps, under 4 minutes), and 10 seeds in at most twice the time of one.
#
# :::{admonition} Try it yourself
# :class: tip
#
# On Colab choose *Runtime → Change runtime type → T4 GPU* and run this notebook again (it then measures the GPU),
# or run `python -m ssgan_lib bench --seeds 10` on any machine with a GPU. If the argument above holds on your GPU,
# you will see:
#
# - the floor bar far below the plain loop's: most of the plain step is not arithmetic;
# - the library's bar much closer to the floor than the plain loop's, with `cuda-graph` instead of `eager` in its
#   line of the printed table (technique 7);
# - the several-seeds bar well below the single-seed bar: seeds side by side fill a GPU that one seed leaves idle.
#
# Where your numbers say otherwise, they are the measurement; the argument is only a reason to expect it.
# :::

# %% [markdown]
# ## Checking that fast is still right
#
# Speed tricks are only worth having if they compute the same thing. The test suite checks each of them against
# the plain computation:
#
# - the batched seed axis against separate runs (`tests/test_train.py`): the same inputs give the same losses and
#   weights, so seeds never mix;
# - the CUDA-graph step against the eager step from the same seed (skipped without CUDA);
# - every loss against a float64 evaluation of its formula (`tests/test_losses.py`), and the multi-tensor Adam and
#   averaging against their per-parameter loops;
# - the whole training step — one concatenated forward, seed axis, multi-tensor Adam, device-side batches —
#   against the **real reference code**, Salimans et al.'s Theano script run unchanged on the same weights,
#   batches and noise (`tests/test_reference_oracle.py`, both versions of the script): losses, gradients, weights,
#   averages and Adam moments agree to about $10^{-13}$ in float64 for 30 steps. Running the real code found two
#   details that the library, and a careful line-by-line transcription, had both got wrong until then (the average
#   reads the weights *before* the Adam update; the step size must not be rounded to float32); both are fixed;
# - resume: a run interrupted at step $k$ and resumed ends bit-identical to an uninterrupted one on CPU.
#
# ## What to watch for
#
# - **A hidden `.item()`** (or `print(loss)`, `float(loss)`, `if loss > x:`) inside the step forces a sync.
#   `torch.cuda.set_sync_debug_mode("warn")` reports them.
# - **Python values that change** (a learning rate as a float, an epoch counter in an `if`) are frozen into a
#   captured graph. Keep them in device tensors and update them in place.
# - **New tensors each step** (`torch.tensor(lr)` inside the loop) break capture: allocate once, `copy_` into them.
# - **Benchmarks without synchronisation** measure how fast Python queues work, not how fast the GPU does it.
#   Call `torch.cuda.synchronize()` before reading the clock, and warm up first (the first steps include
#   cuBLAS initialisation and graph capture).
#
# ## Key takeaways
#
# - One step of the MNIST recipe is {glue:text}`step_gflop:.2f` GFLOP (the discriminator's forward alone: about
#   1.5 M multiply-adds per image, {ref}`ch09-flops`). On a large GPU that is a fraction of a millisecond of
#   arithmetic, so a plain loop's time there is expected to go to kernel launches, host synchronisation and data
#   loading: the costs the library's techniques remove. Run the benchmark on a GPU to see it on yours.
# - On this copy's device ({glue:text}`device_name`) the matrix work alone took {glue:text}`floor_share:.0f` % of the
#   library's step, and the library's loop ran {glue:text}`ratio_text` (Figure 9.1).
# - Measure with care: synchronise before reading the clock, warm up first, and keep host reads such as `.item()`
#   out of the step.
# - A speed trick is only worth having if it computes the same thing: each one is tested against the plain
#   computation, and the whole step against the authors' reference code.
#
# ## Exercises
#
# :::{exercise}
# :label: ch09-flops
#
# Count the multiply-adds of one forward pass of the Salimans discriminator (784-1000-500-250-250-250-10) on one
# image. Check with `ssgan_lib.exercises.ch09.check_d_macs(n)`.
# :::
#
# :::{solution} ch09-flops
# :class: dropdown
#
# One product of the two widths per layer, added up:
#
# $$ \begin{aligned}
# & 784\cdot1000 + 1000\cdot500 \\
# &\quad {}+ 500\cdot250 + 250\cdot250 \\
# &\quad {}+ 250\cdot250 + 250\cdot10 \\
# &= 1{,}536{,}500 .
# \end{aligned} $$
#
# In code:
# ```python
# dims = [784, 1000, 500, 250, 250, 250, 10]
# n = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
# from ssgan_lib.exercises.ch09 import check_d_macs
# check_d_macs(n)
# ```
# :::
#
# :::{exercise}
# :label: ch09-slices
#
# Write `batch_indices(perm, pos, B)` that returns the indices of batch `pos` from a (S, N) permutation tensor
# *without* Python slicing by `pos` (so it works when `pos` is a 0-d device tensor inside a CUDA graph). Check with
# `ssgan_lib.exercises.ch09.check_batch_indices(batch_indices)`.
# :::
#
# :::{solution} ch09-slices
# :class: dropdown
#
# ```python
# import torch
# def batch_indices(perm, pos, B):
#     cols = pos * B + torch.arange(B, device=perm.device)
#     return perm.index_select(1, cols)
# from ssgan_lib.exercises.ch09 import check_batch_indices
# check_batch_indices(batch_indices)
# ```
# :::
#
# :::{exercise}
# :label: ch09-concat
#
# Why may `Trainer` concatenate the labelled, unlabelled and generated batches into one forward pass of D, and
# why would that be wrong for the DCGAN discriminator of [chapter 4](04_dcgan) if one wanted the three passes to be
# *exactly* equivalent to separate ones?
# :::
#
# :::{solution} ch09-concat
# :class: dropdown
#
# The Salimans D treats every image independently (dense layers, per-element noise), so a forward on the
# concatenation is three forwards side by side. The DCGAN D has batch norm: its statistics are computed over the
# batch, so a concatenated batch mixes real and fake statistics, which changes every output.
# :::
#
# ## Further reading
#
# - PyTorch documentation, [*CUDA semantics: CUDA Graphs*](https://pytorch.org/docs/stable/notes/cuda.html#cuda-graphs):
#   what capture requires (static shapes and addresses, no host sync) and how whole-network capture is done,
#   the details behind technique 7.
# - H. He. [*Making Deep Learning Go Brrrr From First Principles*](https://horace.io/brrr_intro.html) (2022): compute,
#   memory bandwidth and overhead as the three things a training step can be bound by, and how to tell which.
# - PyTorch, [*Performance Tuning Guide*](https://pytorch.org/tutorials/recipes/recipes/tuning_guide.html): the
#   general habits (no needless syncs, tensors created directly on the device, fused pointwise operations) in one
#   page.
#
# ## References
#
# - PyTorch documentation, [*CUDA semantics: CUDA Graphs*](https://pytorch.org/docs/stable/notes/cuda.html#cuda-graphs) (whole-network capture, static inputs).
# - K. Jordan, [*airbench*](https://github.com/KellerJordan/cifar10-airbench) ([arXiv:2404.00498](https://arxiv.org/abs/2404.00498); CIFAR-10 training at the hardware's limit: data on the GPU, batches by permutation).
# - [`torch.cuda.set_sync_debug_mode`](https://pytorch.org/docs/stable/generated/torch.cuda.set_sync_debug_mode.html) and the
#   [PyTorch profiler](https://pytorch.org/docs/stable/profiler.html), for finding syncs and launch-bound code.

# %%
print(run)
