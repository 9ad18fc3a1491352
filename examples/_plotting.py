"""Plots the examples save in examples/output/ when matplotlib is installed (a helper, not an example).

    >>> from _plotting import save_loss_curve
    >>> save_loss_curve([3.0, 2.0, 1.5], "demo_loss.png", "step", "loss", "a demo")  # doctest: +SKIP
"""
import os


def pyplot(purpose):
    """matplotlib.pyplot on a file-only backend, or None (saying what is lost) when it is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"(install matplotlib to get {purpose})")
        return None
    return plt


def output_path(filename):
    """Where an example saves `filename`: examples/output/, made if needed."""
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")
    os.makedirs(out_dir, exist_ok=True)
    return os.path.join(out_dir, filename)


def save_loss_curve(losses, filename, xlabel, ylabel, title):
    """Save the curve of `losses` as examples/output/`filename`."""
    plt = pyplot("a plot of the loss curve")
    if plt is None:
        return
    path = output_path(filename)
    plt.figure(figsize=(6, 3.5))
    plt.plot(losses, linewidth=0.8)
    plt.xlabel(xlabel)
    plt.ylabel(ylabel)
    plt.title(title)
    plt.tight_layout()
    plt.savefig(path, dpi=100)
    print(f"loss curve saved to {path}")
