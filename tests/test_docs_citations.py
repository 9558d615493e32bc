"""docs/physics.md is the method document that code comments cite as ``docs/physics.md §N.M``.

Checks: every "§" citation in the package, README, configs and benchmarks resolves to a heading of
docs/physics.md; the document's own cross references resolve; the test modules it names exist; and
no citation of the former external reference ("spec §…", ``physics-spec.md``) is left.
"""

from __future__ import annotations

import re
from pathlib import Path


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "gpuqd").is_dir():
            return parent
    raise RuntimeError("repository root (pyproject.toml next to gpuqd/) not found above " + str(here))


ROOT = _repo_root()
DOC = ROOT / "docs" / "physics.md"

#: A section number: "6" or "6.5".
_NUMBER = r"\d+(?:\.\d+)?"
#: "§6.5", "§ 6.5", and ranges "§3–5", "§5.2–5.6" (en dash or hyphen): both ends must exist.
CITATION = re.compile(rf"§\s*({_NUMBER})(?:\s*[–-]\s*({_NUMBER}))?")
#: Headings "## 6. Title" and "### 6.5 Title".
HEADING = re.compile(rf"^#{{2,3}}\s+({_NUMBER})\.?\s+\S", re.MULTILINE)
#: A line that names a document other than docs/physics.md: its "§" belong to that document.
#: (The former external reference used the same numbering, so "spec §" lines are still checked
#: here; test_no_citation_of_the_former_reference flags them.)
OTHER_DOCUMENT = re.compile(
    r"(?<![\w/])(?!docs/physics\.md)(?!physics-spec\.md)[\w./-]+\.(?:md|rst|txt|pdf|tex|html)\b"
    r"|arXiv|\bdoi\b|https?://",
    re.IGNORECASE,
)
#: Strings that cite the former external reference instead of docs/physics.md.
FORMER_REFERENCE = ("spec §", "shared/physics-spec", "physics-spec.md")
#: File suffixes searched inside gpuqd/ (Python and the CUDA sources).
PACKAGE_SUFFIXES = (".py", ".cu", ".cuh", ".h")


def _cited_files() -> list[Path]:
    files = [p for p in sorted((ROOT / "gpuqd").rglob("*")) if p.suffix in PACKAGE_SUFFIXES and p.is_file()]
    files += sorted((ROOT / "configs").glob("*.yaml"))
    files += sorted((ROOT / "benchmarks").glob("*.py"))
    readme = ROOT / "README.md"
    if readme.is_file():
        files.append(readme)
    return files


def _headings() -> set[str]:
    return set(HEADING.findall(DOC.read_text(encoding="utf-8")))


def _citations(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, line, cited numbers) for every line whose "§" refer to docs/physics.md."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "§" not in line:
            continue
        if OTHER_DOCUMENT.search(line) and "docs/physics.md" not in line:
            continue
        cited = [n for match in CITATION.finditer(line) for n in match.groups() if n is not None]
        if cited:
            out.append((number, line.strip(), cited))
    return out


def test_document_has_the_numbered_sections() -> None:
    headings = _headings()
    top = {h for h in headings if "." not in h}
    assert {str(k) for k in range(1, 14)} <= top, sorted(top, key=float)
    for sub in ("3.2", "4.1", "4.2", "4.3", "4.5", "5.1", "5.4", "5.6", "6.1", "6.2", "6.3", "6.5"):
        assert sub in headings


def test_citation_pattern() -> None:
    assert [n for m in CITATION.finditer("see §6.5, §10 and §5.2–5.6; §3–5") for n in m.groups() if n] == [
        "6.5",
        "10",
        "5.2",
        "5.6",
        "3",
        "5",
    ]
    assert _citations("cite docs/physics.md §6.2 here")[0][2] == ["6.2"]
    assert _citations("Klein, Survival Analysis (book.pdf) §4") == []
    assert _citations("bare §10 in a README line")[0][2] == ["10"]


def test_every_citation_resolves_to_a_heading() -> None:
    headings = _headings()
    missing = []
    for path in _cited_files():
        for line_no, line, cited in _citations(path.read_text(encoding="utf-8")):
            for number in cited:
                if number not in headings:
                    missing.append(
                        f"{path.relative_to(ROOT)}:{line_no}: §{number} not a heading of docs/physics.md: {line}"
                    )
    assert not missing, "\n".join(missing)


def test_internal_cross_references_resolve() -> None:
    headings = _headings()
    missing = [
        f"docs/physics.md:{line_no}: §{n}: {line}"
        for line_no, line, cited in _citations(DOC.read_text(encoding="utf-8"))
        for n in cited
        if n not in headings
    ]
    assert not missing, "\n".join(missing)


def test_named_test_modules_exist() -> None:
    """The test modules that docs/physics.md names (§13) exist somewhere under tests/."""
    named = set(re.findall(r"`(test_\w+\.py)`", DOC.read_text(encoding="utf-8")))
    present = {p.name for p in (ROOT / "tests").rglob("test_*.py")}
    assert named, "docs/physics.md names no test modules"
    assert named <= present, sorted(named - present)


def test_no_citation_of_the_former_reference() -> None:
    hits = []
    for path in _cited_files() + [
        p
        for p in sorted((ROOT / "gpuqd").rglob("*"))
        if p.is_file() and p.suffix not in PACKAGE_SUFFIXES and p.suffix != ".pyc"
    ]:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for line_no, line in enumerate(text.splitlines(), start=1):
            if any(s in line for s in FORMER_REFERENCE):
                hits.append(f"{path.relative_to(ROOT)}:{line_no}: {line.strip()}")
    assert not hits, "\n".join(hits)
