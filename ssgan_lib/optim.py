"""Adam exactly as the improved-GAN reference code writes it, and parameter averaging.

Two details differ from ``torch.optim.Adam`` and are kept on purpose:

* the epsilon sits **inside** the square root, :math:`\\hat m / \\sqrt{\\hat v + \\epsilon}` with
  :math:`\\epsilon = 10^{-8}`, i.e. an effective floor of :math:`10^{-4}` on the denominator
  (PyTorch: :math:`\\hat m / (\\sqrt{\\hat v} + \\epsilon)`, a floor of :math:`10^{-8}`);
* the learning rate and the step counter live in **device tensors**, so a learning-rate schedule
  changes no Python constant and the whole update can be captured once in a CUDA graph.
"""
from __future__ import annotations

import torch


class PaperAdam:
    r"""Adam of ``nn.adam_updates`` in github.com/openai/improved-gan:

    .. math:: m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
              p \leftarrow p - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t) + \epsilon}}
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.5, 0.999),
                 eps: float = 1e-8, eps_inside: bool = True):
        self.params = list(params)
        # eps_inside=False is torch.optim.Adam's m / (sqrt(v) + eps): kept only to measure what it changes
        self.eps_inside = eps_inside
        dev = self.params[0].device
        self.lr = torch.tensor(float(lr), device=dev)
        self.t = torch.zeros((), dtype=torch.float64, device=dev)  # float64: exact bias corrections
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        # Multi-tensor ("foreach") ops: each line below is one kernel launch for *all* parameters, not
        # one per parameter. Under a CUDA graph the step is bound by launches, so this matters there;
        # the arithmetic, and its rounding, are those of the per-parameter formula in the docstring.
        self.t += 1
        bc1 = 1 - self.beta1 ** self.t  # float64 0-dim tensors, exact
        bc2 = 1 - self.beta2 ** self.t
        dt = self.params[0].dtype  # float32 runs: as before; float64 runs (the oracle test): no float32 rounding
        step_size = (self.lr / bc1).to(dt)
        inv_bc2 = (1 / bc2).to(dt)
        grads = list(grads)
        torch._foreach_lerp_(self.m, grads, 1 - self.beta1)
        torch._foreach_mul_(self.v, self.beta2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1 - self.beta2)
        denom = torch._foreach_mul(self.v, inv_bc2)
        if self.eps_inside:
            torch._foreach_add_(denom, self.eps)
            torch._foreach_sqrt_(denom)
        else:
            torch._foreach_sqrt_(denom)
            torch._foreach_add_(denom, self.eps)
        # p - step_size * m / denom as p + m / (denom / -step_size): one pass less over every tensor than
        # forming step_size * m first (the step size is a device tensor, addcdiv's factor a number)
        torch._foreach_div_(denom, -step_size)
        torch._foreach_addcdiv_(self.params, self.m, denom)

    def set_lr(self, lr: float) -> None:
        self.lr.fill_(lr)

    def state_dict(self) -> dict:
        return {"lr": self.lr.clone(), "t": self.t.clone(), "m": [x.clone() for x in self.m],
                "v": [x.clone() for x in self.v]}

    def load_state_dict(self, state: dict) -> None:
        self.lr.copy_(state["lr"])
        self.t.copy_(state["t"])
        for dst, src in zip(self.m + self.v, state["m"] + state["v"]):
            if dst.shape != src.shape:
                raise ValueError(f"optimizer state shape {tuple(src.shape)} does not fit {tuple(dst.shape)}")
            dst.copy_(src)


class ParamAverage:
    r"""Exponential moving average of parameters, read out bias-corrected:

    .. math:: a_t = a_{t-1} + (1-\beta)(p_t - a_{t-1}),\ a_0 = 0, \qquad \bar p_t = a_t / (1 - \beta^t)

    The reference code evaluates :math:`a_t` itself (``decay = 0.9999``), which is only close to
    an average after ~50,000 steps; the correction makes short runs report a true (weighted)
    average of the weights seen so far, and changes nothing after a full run.
    """

    def __init__(self, params: list[torch.Tensor], decay: float = 0.9999):
        self.params = list(params)
        self.decay = decay
        self.avg = [torch.zeros_like(p) for p in self.params]
        self.t = torch.zeros((), dtype=torch.float64, device=self.params[0].device)  # float64: exact 1 - decay**t

    @torch.no_grad()
    def update(self) -> None:
        self.t += 1
        torch._foreach_lerp_(self.avg, self.params, 1 - self.decay)  # one launch for all parameters

    @torch.no_grad()
    def copy_to(self, targets: list[torch.Tensor]) -> None:
        """Write the bias-corrected averages into ``targets`` (e.g. the eval model's parameters)."""
        corr = 1 - self.decay ** self.t
        for dst, a, p in zip(targets, self.avg, self.params):
            if float(self.t) == 0:  # no update yet: the average is the parameter itself
                dst.copy_(p)
            else:
                dst.copy_(a / corr)

    def state_dict(self) -> dict:
        return {"t": self.t.clone(), "avg": [a.clone() for a in self.avg]}

    def load_state_dict(self, state: dict) -> None:
        self.t.copy_(state["t"])
        for dst, src in zip(self.avg, state["avg"]):
            if dst.shape != src.shape:
                raise ValueError(f"averaged parameter shape {tuple(src.shape)} does not fit {tuple(dst.shape)}")
            dst.copy_(src)
