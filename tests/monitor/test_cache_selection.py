"""Choosing what to delete: repos and single revisions, and the live freed-size total."""

from __future__ import annotations

from cache_layout import Layout

from magitui_core.cache.catalog import (
    CacheLocations,
    Selection,
    prune_selection,
    scan_cache,
    toggle_extra,
    toggle_repo,
    toggle_revision,
)
from magitui_core.cache.delete import estimate_freed, execute_plan, plan_deletion


def test_toggling_repos_and_revisions(layout: Layout) -> None:
    scan = scan_cache(CacheLocations.from_env())
    alpha = scan.hub.repo("model/org/alpha")
    assert alpha is not None
    main, old = sorted(alpha.revisions, key=lambda r: r.detached)
    selection = toggle_revision(Selection(), alpha, old)
    assert selection.revisions == {old.commit_hash} and not selection.repos
    # Picking the last revision too is picking the repo.
    selection = toggle_revision(selection, alpha, main)
    assert selection.repos == {"model/org/alpha"} and not selection.revisions
    # Unpicking one revision of a picked repo keeps the other.
    selection = toggle_revision(selection, alpha, old)
    assert selection.revisions == {main.commit_hash} and not selection.repos
    selection = toggle_repo(selection, alpha)
    assert selection.repos == {"model/org/alpha"} and not selection.revisions
    assert not toggle_repo(selection, alpha)
    assert toggle_extra(Selection(), "datasets-cache/downloads").extras == {
        "datasets-cache/downloads"
    }


def test_live_total_matches_the_plan(layout: Layout) -> None:
    scan = scan_cache(CacheLocations.from_env())
    cases = [
        Selection(revisions=frozenset({layout.revs["alpha_old"], layout.revs["beta_old"]})),
        Selection(extras=frozenset({"datasets-cache/downloads"})),
    ]
    for selection in cases:
        assert estimate_freed(scan, selection) == plan_deletion(scan, selection).freed_bytes
    # A whole repo: the plan also counts the small refs files the estimate leaves out.
    whole = Selection(repos=frozenset({"model/org/alpha"}))
    refs = len(layout.revs["alpha_main"])
    assert estimate_freed(scan, whole) + refs == plan_deletion(scan, whole).freed_bytes


def test_a_rescan_drops_what_is_gone(layout: Layout) -> None:
    scan = scan_cache(CacheLocations.from_env())
    chosen = Selection(
        repos=frozenset({"model/org/beta"}),
        revisions=frozenset({layout.revs["alpha_old"]}),
        extras=frozenset({"datasets-cache/downloads"}),
    )
    result = execute_plan(plan_deletion(scan, Selection(repos=frozenset({"model/org/beta"}))))
    pruned = prune_selection(chosen, result.scan)
    assert pruned.repos == frozenset()
    assert pruned.revisions == {layout.revs["alpha_old"]}
    assert pruned.extras == {"datasets-cache/downloads"}
