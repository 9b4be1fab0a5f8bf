"""Every registered study end to end in quick mode, and its section of RESULTS.md.

The studies' numbers are checked by their own oracle tests (test_theory,
test_relu_gate, test_sgd_gd, test_exact, test_recovery); here: the registry is
complete, ``dante reproduce`` runs a study by name, the JSON it writes is the
StudyResult, and RESULTS.md renders each study (rows and claims as tables,
figures embedded) next to the DANTE experiment sections.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from dante.cli import main
from dante.experiments import write_results_md
from dante.experiments.studies import list_studies, run_named_study, split_names
from dante.experiments.study import STUDY_KIND, study_arguments

EXPECTED = {"slqc", "relu_gate", "sgd_gd", "exact_erm", "nwh", "sparse_coding_ae", "pac_bayes"}
EXPECTED |= {"adaptive"}  # dante.adaptive.study (003 Ch. 5)
EXPECTED |= {"zonotope", "nwh_sparse"}  # dante.exact.zonotope_study, dante.shallow.nwh_sparse_study
RESULTS = Path(__file__).resolve().parents[1] / "results"


def _table_rows(text: str, header_start: str) -> list[str]:
    """The body rows of the markdown table whose header line starts with ``header_start``."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(header_start))
    assert lines[i + 1].startswith("|---")
    body = []
    for line in lines[i + 2 :]:
        if not line.startswith("|"):
            break
        body.append(line)
    return body


def test_registry_is_complete():
    assert set(list_studies()) == EXPECTED
    assert split_names("all")[1] == sorted(EXPECTED)
    assert split_names("slqc") == ([], ["slqc"])
    assert split_names("fig2") == (["fig2"], [])
    with pytest.raises(ValueError, match="sparse_coding_ae"):
        split_names("no_such_study")


def test_every_study_quick_and_results_md(tmp_path):
    out, md = tmp_path / "results", tmp_path / "docs" / "RESULTS.md"
    fig_dir = md.parent / "figures"
    payloads = {
        name: run_named_study(name, out, fig_dir, quick=True, log=lambda *_: None)
        for name in list_studies()
    }
    # a DANTE experiment already in the results folder keeps its section
    shutil.copy(RESULTS / "table3.json", out / "table3.json")
    text = write_results_md(out, md).read_text()
    assert "## table3:" in text
    assert text.index("## table3:") < text.index("# Studies of the other seed papers")
    for name, payload in payloads.items():
        on_disk = json.loads((out / f"{name}.json").read_text())
        assert on_disk["kind"] == STUDY_KIND and on_disk["quick"] is True
        assert on_disk["seeds"] == [0]
        for key in ("title", "source", "setup", "rows", "claims", "figures"):
            assert on_disk[key], f"{name}: empty {key}"
        for claim in on_disk["claims"]:
            assert isinstance(claim["holds"], bool), (name, claim)
            assert claim["claim"] and claim["evidence"]
        assert f"## {name}: {payload['title']}" in text
        section = text[text.index(f"## {name}:") :]
        header = "| " + " | ".join(on_disk["rows"][0]) + " |"
        assert len(_table_rows(section, header)) == len(on_disk["rows"])
        claims = _table_rows(section, "| claim | holds | evidence |")
        assert len(claims) == len(on_disk["claims"])
        for line, claim in zip(claims, on_disk["claims"]):
            assert line.split(" | ")[1] == ("yes" if claim["holds"] else "**no**")
        for fig in on_disk["figures"]:
            assert (fig_dir / fig).stat().st_size > 1000
            assert f"(figures/{fig})" in section


def test_reproduce_study_by_name_and_report_only(tmp_path, capsys):
    out, md = tmp_path / "out", tmp_path / "RESULTS.md"
    argv = ["reproduce", "sparse_coding_ae", "--quick", "--seeds", "2", "--out", str(out)]
    assert main([*argv, "--results-md", str(md)]) == 0
    payload = json.loads((out / "sparse_coding_ae.json").read_text())
    assert payload["seeds"] == [0]  # the study uses the first seed (one dictionary per cell)
    assert (tmp_path / "figures" / "sparse_coding_ae.png").exists()
    first = md.read_text()
    assert "## sparse_coding_ae:" in first
    md.unlink()
    assert (
        main(
            [
                "reproduce",
                "sparse_coding_ae",
                "--report-only",
                "--out",
                str(out),
                "--results-md",
                str(md),
            ]
        )
        == 0
    )
    assert md.read_text() == first  # re-rendered from the JSON, nothing run
    assert json.loads((out / "sparse_coding_ae.json").read_text()) == payload
    assert main(["reproduce", "--list"]) == 0
    listed = capsys.readouterr().out
    for name in (*EXPECTED, "fig2", "table4"):
        assert name in listed


def test_reproduce_unknown_name_lists_studies(capsys):
    assert main(["reproduce", "no_such_thing"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment or study" in err and "relu_gate" in err and "fig2" in err


@pytest.mark.parametrize(
    ("quick", "seeds", "exc", "needle"),
    [
        (1, [0], TypeError, "quick"),
        (True, [], ValueError, "seeds"),
        (True, ["a"], TypeError, "seeds"),
    ],
)
def test_study_arguments_are_checked(tmp_path, quick, seeds, exc, needle):
    with pytest.raises(exc, match=needle):
        study_arguments(quick, seeds, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_packages_export_their_modules_public_names():
    import dante.exact
    import dante.shallow
    import dante.theory

    shared = {"ACTIVATIONS", "sgd_gd"}  # in two modules / the module's own name: stay there
    for pkg in (dante.theory, dante.shallow, dante.exact):
        for name in pkg.__all__:
            assert hasattr(pkg, name), f"{pkg.__name__}.{name}"
        modules = [getattr(pkg, n) for n in pkg.__all__ if isinstance(getattr(pkg, n), ModuleType)]
        assert modules
        for mod in modules:  # the algorithm modules; the *study modules are run by name
            missing = set(mod.__all__) - set(pkg.__all__) - shared
            assert not missing, (mod.__name__, missing)


def test_one_thread_restores_the_thread_count():
    import torch

    from dante.experiments.studies import one_thread

    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
