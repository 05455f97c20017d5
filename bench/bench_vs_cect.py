"""Side-by-side with cect 0.3.5: read the same original file with each, time and count."""

from __future__ import annotations

import sys
from pathlib import Path

from neuroflow.devtools import repo_root
from neuroflow.homogenize.connectome import homogenize_source
from neuroflow.homogenize.labels import build_label_map, load_aliases, load_cell_table
from neuroflow.io.connectomes import READERS

sys.path.insert(0, str(repo_root() / "tests"))
from test_homogenize_oracle import CASES, cect_edges  # noqa: E402


def compare_all(measure) -> None:
    root = repo_root()
    data = root / "resources/data/cect-0.3.5/cect/data"
    lm = build_label_map(
        load_cell_table(root / "resources/celegans/cells.tsv"),
        load_aliases(root / "resources/celegans/aliases.tsv"),
    )
    print("\n== per source: neuroflow (read original + homogenize) vs cect reader ==")
    head = (
        f"{'source':22s} {'ours s':>7s} {'cect s':>7s} {'ratio':>6s} {'ours MiB':>8s} "
        f"{'cect MiB':>8s} {'ratio':>6s} {'chem ours/cect':>15s} {'gap ours/cect':>14s}"
    )
    print(head)
    tot = [0.0, 0.0]
    for source, (module, reader, name, options, reduce) in sorted(CASES.items()):

        def ours_fn(reader=reader, name=name, options=options, source=source, reduce=reduce):
            return homogenize_source(
                READERS[reader](Path(data) / name, **options), lm, source, gap_reduce=reduce
            )

        ds, t_ours, m_ours = measure(ours_fn)
        edges, t_cect, m_cect = measure(lambda module=module: cect_edges(module))
        ref = homogenize_source(edges, lm, source, gap_reduce=reduce)
        counts = [int((d["weight"].values[k] > 0).sum()) for d in (ds, ref) for k in (0, 1)]
        tot[0] += t_ours
        tot[1] += t_cect
        print(
            f"{source:22s} {t_ours:7.2f} {t_cect:7.2f} {t_ours / t_cect:6.2f} {m_ours:8.1f} "
            f"{m_cect:8.1f} {m_ours / m_cect:6.2f} {counts[0]:>6d}/{counts[2]:<6d}  "
            f"{counts[1]:>6d}/{counts[3]:<6d}"
        )
    print(f"{'total':22s} {tot[0]:7.2f} {tot[1]:7.2f} {tot[0] / tot[1]:6.2f}")
    print(
        "(cect time is its reader alone, on its own packaged copy of the same file; "
        "counts are non-zero entries of the 300-neuron block after the same homogenization)"
    )
