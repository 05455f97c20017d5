"""Citable references of the methods text: libraries, papers and datasets, with BibTeX.

A reference is a :class:`Citation`: the reference line as a plain ``str`` (so the stages'
reference lists stay lists of strings) that also carries its BibTeX key and fields. The
software libraries have hand-written entries (:data:`LIBRARIES`); a stage's paper given as
one line ("Authors (year). Title. Journal vol:pages.") is parsed into an article entry, and
anything else (several papers on one line, a dataset's citation with its provenance)
becomes a ``@misc`` entry whose ``note`` is the whole line.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path

from neuroflow.provenance import package_versions
from neuroflow.resources import dataset_citation


class Citation(str):
    """A reference line that knows its BibTeX entry (``key``, ``entry_type``, ``fields``)."""

    key: str
    entry_type: str
    fields: tuple[tuple[str, str], ...]

    def __new__(cls, text: str, key: str, entry_type: str = "misc", fields=()):
        obj = super().__new__(cls, " ".join(text.split()))
        obj.key, obj.entry_type, obj.fields = key, entry_type, tuple(fields)
        return obj


def _lib(key, package, text, entry_type, **fields) -> tuple[str, dict]:
    return key, {"package": package, "text": text, "type": entry_type, "fields": fields}


# key -> the distribution whose version is reported, the reference line and its BibTeX
LIBRARIES = dict(
    [
        _lib(
            "snakemake",
            "snakemake",
            "Mölder F, Jablonski KP, Letcher B, et al. (2021). Sustainable data analysis with "
            "Snakemake. F1000Research 10:33.",
            "article",
            author="Mölder, Felix and Jablonski, Kim Philipp and Letcher, Brice and others",
            title="Sustainable data analysis with {Snakemake}",
            journal="F1000Research",
            volume="10",
            pages="33",
            year="2021",
            doi="10.12688/f1000research.29032.2",
        ),
        _lib(
            "numpy",
            "numpy",
            "Harris CR, Millman KJ, van der Walt SJ, et al. (2020). Array programming with NumPy. "
            "Nature 585:357-362.",
            "article",
            author="Harris, Charles R. and Millman, K. Jarrod and van der Walt, Stéfan J. and others",
            title="Array programming with {NumPy}",
            journal="Nature",
            volume="585",
            pages="357--362",
            year="2020",
            doi="10.1038/s41586-020-2649-2",
        ),
        _lib(
            "scipy",
            "scipy",
            "Virtanen P, Gommers R, Oliphant TE, et al. (2020). SciPy 1.0: fundamental algorithms "
            "for scientific computing in Python. Nat Methods 17:261-272.",
            "article",
            author="Virtanen, Pauli and Gommers, Ralf and Oliphant, Travis E. and others",
            title="{SciPy} 1.0: fundamental algorithms for scientific computing in {Python}",
            journal="Nature Methods",
            volume="17",
            pages="261--272",
            year="2020",
            doi="10.1038/s41592-019-0686-2",
        ),
        _lib(
            "pandas",
            "pandas",
            "McKinney W (2010). Data structures for statistical computing in Python. Proc 9th "
            "Python in Science Conference, 56-61.",
            "inproceedings",
            author="McKinney, Wes",
            title="Data structures for statistical computing in {Python}",
            booktitle="Proceedings of the 9th Python in Science Conference",
            pages="56--61",
            year="2010",
            doi="10.25080/Majora-92bf1922-00a",
        ),
        _lib(
            "xarray",
            "xarray",
            "Hoyer S, Hamman J (2017). xarray: N-D labeled arrays and datasets in Python. J Open "
            "Res Softw 5:10.",
            "article",
            author="Hoyer, Stephan and Hamman, Joe",
            title="xarray: {N-D} labeled arrays and datasets in {Python}",
            journal="Journal of Open Research Software",
            volume="5",
            pages="10",
            year="2017",
            doi="10.5334/jors.148",
        ),
        _lib(
            "sklearn",
            "scikit-learn",
            "Pedregosa F, Varoquaux G, Gramfort A, et al. (2011). Scikit-learn: machine learning "
            "in Python. J Mach Learn Res 12:2825-2830.",
            "article",
            author="Pedregosa, Fabian and Varoquaux, Gaël and Gramfort, Alexandre and others",
            title="Scikit-learn: machine learning in {Python}",
            journal="Journal of Machine Learning Research",
            volume="12",
            pages="2825--2830",
            year="2011",
        ),
        _lib(
            "nilearn",
            "nilearn",
            "Abraham A, Pedregosa F, Eickenberg M, et al. (2014). Machine learning for "
            "neuroimaging with scikit-learn. Front Neuroinform 8:14 (nilearn).",
            "article",
            author="Abraham, Alexandre and Pedregosa, Fabian and Eickenberg, Michael and others",
            title="Machine learning for neuroimaging with scikit-learn",
            journal="Frontiers in Neuroinformatics",
            volume="8",
            pages="14",
            year="2014",
            doi="10.3389/fninf.2014.00014",
        ),
        _lib(
            "nibabel",
            "nibabel",
            "Brett M, Markiewicz CJ, Hanke M, et al. NiBabel: access a cacophony of neuro-imaging "
            "file formats. Zenodo, doi:10.5281/zenodo.591597.",
            "misc",
            author="Brett, Matthew and Markiewicz, Christopher J. and Hanke, Michael and others",
            title="{NiBabel}: access a cacophony of neuro-imaging file formats",
            howpublished="Zenodo",
            doi="10.5281/zenodo.591597",
        ),
        _lib(
            "pybids",
            "pybids",
            "Yarkoni T, Markiewicz CJ, de la Vega A, et al. (2019). PyBIDS: Python tools for BIDS "
            "datasets. J Open Source Softw 4:1294.",
            "article",
            author="Yarkoni, Tal and Markiewicz, Christopher J. and de la Vega, Alejandro and others",
            title="{PyBIDS}: {Python} tools for {BIDS} datasets",
            journal="Journal of Open Source Software",
            volume="4",
            number="40",
            pages="1294",
            year="2019",
            doi="10.21105/joss.01294",
        ),
        _lib(
            "mne",
            "mne",
            "Gramfort A, Luessi M, Larson E, et al. (2013). MEG and EEG data analysis with "
            "MNE-Python. Front Neurosci 7:267.",
            "article",
            author="Gramfort, Alexandre and Luessi, Martin and Larson, Eric and others",
            title="{MEG} and {EEG} data analysis with {MNE-Python}",
            journal="Frontiers in Neuroscience",
            volume="7",
            pages="267",
            year="2013",
            doi="10.3389/fnins.2013.00267",
        ),
        _lib(
            "mne_bids",
            "mne-bids",
            "Appelhoff S, Sanderson M, Brooks TL, et al. (2019). MNE-BIDS: Organizing "
            "electrophysiological data into the BIDS format and facilitating their analysis. "
            "J Open Source Softw 4:1896.",
            "article",
            author="Appelhoff, Stefan and Sanderson, Matthew and Brooks, Teon L. and others",
            title="{MNE-BIDS}: Organizing electrophysiological data into the {BIDS} format and "
            "facilitating their analysis",
            journal="Journal of Open Source Software",
            volume="4",
            number="44",
            pages="1896",
            year="2019",
            doi="10.21105/joss.01896",
        ),
        _lib(
            "mne_connectivity",
            "mne-connectivity",
            "MNE-Connectivity developers. MNE-Connectivity: connectivity estimation for MEG, EEG "
            "and iEEG data. https://mne.tools/mne-connectivity.",
            "misc",
            author="{MNE-Connectivity developers}",
            title="{MNE-Connectivity}: connectivity estimation for {MEG}, {EEG} and {iEEG} data",
            url="https://mne.tools/mne-connectivity",
        ),
        _lib(
            "specparam",
            "specparam",
            "Donoghue T, Haller M, Peterson EJ, et al. (2020). Parameterizing neural power "
            "spectra into periodic and aperiodic components. Nat Neurosci 23:1655-1665.",
            "article",
            author="Donoghue, Thomas and Haller, Matar and Peterson, Erik J. and others",
            title="Parameterizing neural power spectra into periodic and aperiodic components",
            journal="Nature Neuroscience",
            volume="23",
            pages="1655--1665",
            year="2020",
            doi="10.1038/s41593-020-00744-x",
        ),
        _lib(
            "rsatoolbox",
            "rsatoolbox",
            "Schütt HH, Kipnis AD, Diedrichsen J, Kriegeskorte N (2023). Statistical inference on "
            "representational geometries. eLife 12:e82566.",
            "article",
            author="Schütt, Heiko H. and Kipnis, Alexander D. and Diedrichsen, Jörn and "
            "Kriegeskorte, Nikolaus",
            title="Statistical inference on representational geometries",
            journal="eLife",
            volume="12",
            pages="e82566",
            year="2023",
            doi="10.7554/eLife.82566",
        ),
        _lib(
            "himalaya",
            "himalaya",
            "Dupré la Tour T, Eickenberg M, Nunez-Elizalde AO, Gallant JL (2022). Feature-space "
            "selection with banded ridge regression. NeuroImage 264:119728.",
            "article",
            author="Dupré la Tour, Tom and Eickenberg, Michael and Nunez-Elizalde, Anwar O. and "
            "Gallant, Jack L.",
            title="Feature-space selection with banded ridge regression",
            journal="NeuroImage",
            volume="264",
            pages="119728",
            year="2022",
            doi="10.1016/j.neuroimage.2022.119728",
        ),
        _lib(
            "arviz",
            "arviz",
            "Kumar R, Carroll C, Hartikainen A, Martin O (2019). ArviZ a unified library for "
            "exploratory analysis of Bayesian models in Python. J Open Source Softw 4:1143.",
            "article",
            author="Kumar, Ravin and Carroll, Colin and Hartikainen, Ari and Martin, Osvaldo",
            title="{ArviZ} a unified library for exploratory analysis of {Bayesian} models in {Python}",
            journal="Journal of Open Source Software",
            volume="4",
            number="33",
            pages="1143",
            year="2019",
            doi="10.21105/joss.01143",
        ),
        _lib(
            "pymc",
            "pymc",
            "Abril-Pla O, Andreani V, Carroll C, et al. (2023). PyMC: a modern, and comprehensive "
            "probabilistic programming framework in Python. PeerJ Comput Sci 9:e1516.",
            "article",
            author="Abril-Pla, Oriol and Andreani, Virgile and Carroll, Colin and others",
            title="{PyMC}: a modern, and comprehensive probabilistic programming framework in {Python}",
            journal="PeerJ Computer Science",
            volume="9",
            pages="e1516",
            year="2023",
            doi="10.7717/peerj-cs.1516",
        ),
        _lib(
            "pynwb",
            "pynwb",
            "Rübel O, Tritt A, Ly R, et al. (2022). The Neurodata Without Borders ecosystem for "
            "neurophysiological data science. eLife 11:e78362.",
            "article",
            author="Rübel, Oliver and Tritt, Andrew and Ly, Ryan and others",
            title="The {Neurodata Without Borders} ecosystem for neurophysiological data science",
            journal="eLife",
            volume="11",
            pages="e78362",
            year="2022",
            doi="10.7554/eLife.78362",
        ),
        _lib(
            "torch",
            "torch",
            "Paszke A, Gross S, Massa F, et al. (2019). PyTorch: an imperative style, "
            "high-performance deep learning library. NeurIPS 32, 8024-8035.",
            "inproceedings",
            author="Paszke, Adam and Gross, Sam and Massa, Francisco and others",
            title="{PyTorch}: an imperative style, high-performance deep learning library",
            booktitle="Advances in Neural Information Processing Systems 32",
            pages="8024--8035",
            year="2019",
        ),
        _lib(
            "statsmodels",
            "statsmodels",
            "Seabold S, Perktold J (2010). statsmodels: econometric and statistical modeling "
            "with Python. Proc 9th Python in Science Conference, 92-96.",
            "inproceedings",
            author="Seabold, Skipper and Perktold, Josef",
            title="statsmodels: econometric and statistical modeling with {Python}",
            booktitle="Proceedings of the 9th Python in Science Conference",
            pages="92--96",
            year="2010",
            doi="10.25080/Majora-92bf1922-011",
        ),
    ]
)


def cite(key: str) -> Citation:
    """The library ``key`` of :data:`LIBRARIES` as a :class:`Citation`."""
    lib = LIBRARIES[key]
    return Citation(lib["text"], key, lib["type"], sorted(lib["fields"].items()))


def library_keys(refs) -> list[str]:
    """The library keys among ``refs`` (in :data:`LIBRARIES` order)."""
    keys = {getattr(r, "key", None) for r in refs}
    return [k for k in LIBRARIES if k in keys]


# "Authors (year). Title. Journal vol:pages." (one paper; the journal may be abbreviated)
_ONE_PAPER = re.compile(
    r"^(?P<authors>[^()]+?) \((?P<year>\d{4})\)\. (?P<title>[^.]+(?:\.\d[^.]*)?)"
    r"\. (?P<venue>[^.;]+?) (?P<volume>\d+):(?P<pages>[A-Za-z]?[\d-]+)\.?$"
)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def _authors_bibtex(authors: str) -> str:
    """ "Abraham A, Pedregosa F, et al." -> "Abraham, A. and Pedregosa, F. and others"."""
    out = []
    for name in (a.strip() for a in authors.split(",")):
        if name in ("et al.", "et al"):
            out.append("others")
            continue
        parts = name.split()
        initials = parts[-1] if len(parts) > 1 and parts[-1].isupper() else ""
        family = " ".join(parts[:-1]) if initials else name
        out.append(
            f"{family}, {' '.join(c + '.' for c in initials.replace('-', ''))}".rstrip(", ")
            if initials
            else family
        )
    return " and ".join(out)


def as_citation(text: str) -> Citation:
    """A plain reference line as a :class:`Citation` (an article when it is one paper)."""
    if isinstance(text, Citation):
        return text
    text = " ".join(str(text).split())
    first = re.match(r"^\W*([^\W\d_]+)", text)
    year = re.search(r"\((\d{4})\)", text)
    key = _slug(first.group(1) if first else "ref") + (year.group(1) if year else "")
    key += "_" + _slug(" ".join(re.findall(r"[A-Za-z]{4,}", text)[1:4]))[:16]
    m = _ONE_PAPER.match(text)
    if m and " et al" not in m["title"]:
        fields = {
            "author": _authors_bibtex(m["authors"]),
            "title": m["title"],
            "journal": m["venue"],
            "volume": m["volume"],
            "pages": m["pages"].replace("-", "--"),
            "year": m["year"],
        }
        return Citation(text, key, "article", sorted(fields.items()))
    fields = {"note": text} | ({"year": year.group(1)} if year else {})
    return Citation(text, key, "misc", sorted(fields.items()))


def dataset_reference(manifest: dict, dataset_id: str) -> Citation:
    """A manifest dataset's reference line (citation, distribution, licence) as a Citation."""
    text = dataset_citation(manifest, dataset_id)
    year = re.search(r"\((\d{4})\)", text)
    fields = {"title": f"Dataset {dataset_id}", "note": text} | ({"year": year.group(1)} if year else {})
    return Citation(
        text, "dataset_" + re.sub(r"[^A-Za-z0-9_]", "_", dataset_id), "misc", sorted(fields.items())
    )


def _escape_bibtex(value: str) -> str:
    """Balance-safe BibTeX value: braces the writer did not pair and % are escaped."""
    value = value.replace("\\", "").replace("%", r"\%").replace("&", r"\&")
    depth = 0
    for ch in value:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0:
        value = value.replace("{", "(").replace("}", ")")
    return value


def bibtex_entry(ref: Citation, version: str = "") -> str:
    """One BibTeX entry; a library's installed or recorded ``version`` goes in ``note``."""
    fields = dict(ref.fields)
    if version:
        fields["note"] = (fields.get("note", "") + f" Version used: {version}.").strip()
    body = ",\n".join(f"  {k} = {{{_escape_bibtex(v)}}}" for k, v in fields.items())
    return f"@{ref.entry_type}{{{ref.key},\n{body}\n}}\n"


# -- software versions: what the outputs recorded, else what this environment has -------

_VERSION_KEYS = ("SoftwareVersions", "software_versions")


def _versions_in(record) -> dict:
    """``{package: version}`` found under the version keys of one JSON record."""
    for key in _VERSION_KEYS:
        value = record.get(key) if isinstance(record, dict) else None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                continue
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
    return {}


@functools.cache
def recorded_versions(results_dir: str) -> dict[str, tuple[str, ...]]:
    """``{package: versions}`` recorded in the JSON sidecars under ``results_dir``."""
    found: dict[str, set[str]] = {}
    for path in sorted(Path(results_dir).rglob("*.json")):
        if "logs" in path.relative_to(results_dir).parts[:1]:
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        for package, version in _versions_in(record).items():
            found.setdefault(package, set()).add(version)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def used_versions(config: dict, packages) -> dict[str, str]:
    """``{package: version}``: the version(s) the outputs recorded, else the installed one.

    Several recorded versions (outputs written by different environments) are all named.
    """
    recorded = recorded_versions(str(config["results_dir"]))
    installed = package_versions(tuple(p for p in packages if p not in recorded))
    return {p: " and ".join(recorded[p]) if p in recorded else installed[p] for p in packages}
