"""The two versions of the reference MNIST recipe, as named presets of :class:`~ssgan_lib.config.TrainConfig`.

Salimans et al. posted the paper on 10 June 2016. The MNIST script of github.com/openai/improved-gan exists in
two versions that differ in four pieces, and the paper does not say which one produced its table:

============================  =================================  ====================================
piece                         ``paper-2016-06`` (8 June 2016)    ``final`` (14 June 2016 to today)
============================  =================================  ====================================
learning rate                 0.001                              0.003
schedule                      constant, then linear to 0 over    constant
                              the last third (epochs 200-300)
D that is evaluated           the raw (last) D                   the parameter average (1e-4 per step)
G's output layer              weight norm, trainable scale,      weight norm, trainable scale,
                              data-dependent init (one scalar    scale 1 and bias 0 at the start,
                              std over units and batch), no      eps 1e-6 in the norm's sqrt
                              eps in the norm's sqrt
============================  =================================  ====================================

Everything else (D, G's hidden layers, noise, losses, Adam with eps inside the sqrt, D's data-dependent init
with frozen hidden scales, batches) is the same in both. Fields of a ``TrainConfig`` left at ``None`` take the
recipe's value; any field set explicitly wins (that is how an ablation changes one piece).
"""
from __future__ import annotations

from dataclasses import dataclass

REFERENCE_REPO = "https://github.com/openai/improved-gan"


@dataclass(frozen=True)
class Recipe:
    name: str
    commit: str  # commit of openai/improved-gan whose MNIST script this follows
    path: str  # the script in that commit
    date: str  # the commit's date
    lr: float  # Adam learning rate of both players
    decay_fraction: float  # the lr falls linearly to 0 over this last fraction of the epochs (0: constant)
    eval_params: str  # "averaged" (parameter average) or "raw" (the D being trained)
    g_data_init: bool  # data-dependent init of G's output weight-norm scale and bias
    g_norm_eps: float  # added inside the sqrt of G's output weight norm (nn.l2normalize: 1e-6; nn.weight_norm: 0)

    @property
    def schedule(self) -> str:
        """The lr schedule in words, e.g. "to 0 over the last 33%"."""
        return "constant" if not self.decay_fraction else f"to 0 over the last {self.decay_fraction:.0%}"

    @property
    def g_init(self) -> str:
        """How G's output weight-norm scale and bias start."""
        return "from data" if self.g_data_init else "g = 1, b = 0"

    @property
    def url(self) -> str:
        """The MNIST script this recipe follows, at its commit."""
        return f"{REFERENCE_REPO}/blob/{self.commit}/{self.path}"


def markdown_table(recipes: "dict[str, Recipe] | None" = None) -> str:
    """The presets side by side as a Markdown table, one row per recipe, its commit linked."""
    rows = ["| recipe | lr | schedule | evaluates | G output init | MNIST script |", "|---|---|---|---|---|---|"]
    for r in (RECIPES if recipes is None else recipes).values():
        link = f"[{r.commit[:7]}]({r.url}), {r.date}"
        rows.append(f"| `{r.name}` | {r.lr:g} | {r.schedule} | {r.eval_params} D | {r.g_init} | {link} |")
    return "\n".join(rows)


RECIPES: dict[str, Recipe] = {
    "final": Recipe("final", "0fa06b596a5475f49efac61031918e65133676db",
                    "mnist_svhn_cifar10/train_mnist_feature_matching.py", "2016-06-14",
                    lr=3e-3, decay_fraction=0.0, eval_params="averaged", g_data_init=False, g_norm_eps=1e-6),
    "paper-2016-06": Recipe("paper-2016-06", "27f970cefa99c77cf0f5ce65038eb21162d11205",
                            "train_mnist_feature_matching.py", "2016-06-08",
                            lr=1e-3, decay_fraction=1 / 3, eval_params="raw", g_data_init=True, g_norm_eps=0.0),
}


def get_recipe(name: str) -> Recipe:
    """The preset called ``name``; ``ValueError`` naming the choices otherwise."""
    try:
        return RECIPES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}") from None


# The recipe study at the paper's full length (``STAGE=recipe`` of ``book/_tools/gpu_runs.sh``, chapter 6): which
# version of the reference reaches the paper's number. name -> (what it runs, the TrainConfig fields it sets);
# ``python -m ssgan_lib variants recipe --root DIR`` trains each into ``DIR/<name>``.
STUDY: dict[str, tuple[str, dict]] = {
    "final-300": ("final recipe, 300 epochs", {"recipe": "final", "epochs": 300}),
    "paper-300": ("paper-2016-06 recipe, 300 epochs", {"recipe": "paper-2016-06", "epochs": 300}),
    "final-anneal-300": ("final recipe with the lr decaying over the last 100 of 300 epochs",
                         {"recipe": "final", "epochs": 300, "lr_decay_epochs": 100}),
}
