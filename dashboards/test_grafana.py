"""Tests of dashboards/grafana.py: the data source's frames (modelled in
Python) and what @grafana/data makes of them through dashboards/draw.cjs
(needs dashboards/node_modules, from scripts/install-test-deps.sh). Run by
tests/dashboards.rs:

    .venv/bin/python -m unittest discover -s dashboards -p 'test_*.py'
"""

import unittest

import grafana as g


def answer(*series):
    """A Prometheus vector answer: (labels, value) pairs."""
    return [{"metric": labels, "value": [1700000000.0, str(v)]} for labels, v in series]


def tables(*queries):
    frames = []
    for ref, result in queries:
        frames += g.series_frames(ref, result)
    return g.to_table(frames)


def rows(frame):
    names = [f["name"] for f in frame["fields"]]
    return [dict(zip(names, values)) for values in zip(*(f["values"] for f in frame["fields"]))]


def table_panel(transformations, overrides=()):
    return {"type": "table", "title": "t", "transformations": transformations,
            "fieldConfig": {"defaults": {}, "overrides": list(overrides)}, "options": {}}


def shown(panel, frames):
    """What Grafana's code makes of the frames: the table's rows as
    {column: text}, and the view."""
    [view] = g.grafana_data([{"panel": panel, "frames": frames}])
    return [{c: cell["text"] for c, cell in r.items()} for r in view["rows"]], view


MERGE = [{"id": "merge", "options": {}}]


ALICE = {"account_id": "1", "user": "alice"}
BOB = {"account_id": "1", "user": "bob"}


class TableFrames(unittest.TestCase):
    def test_labels_sorted_then_value_named_by_ref_when_several_queries(self):
        [a, b] = tables(("A", answer(({"user": "x", "account_id": "1"}, 1))),
                        ("B", answer(({"user": "x", "account_id": "1"}, 2))))
        self.assertEqual([f["name"] for f in a["fields"]],
                         ["Time", "account_id", "user", "Value #A"])
        self.assertEqual([f["name"] for f in b["fields"]][-1], "Value #B")

    def test_one_query_is_plain_value(self):
        [a] = tables(("A", answer((ALICE, 1))))
        self.assertEqual(a["fields"][-1]["name"], "Value")

    def test_an_empty_answer_still_counts_as_a_query(self):
        [a, b] = tables(("A", answer((ALICE, 1))), ("B", []))
        self.assertEqual(a["fields"][-1]["name"], "Value #A")
        self.assertEqual([f["name"] for f in b["fields"]], ["Time", "Value #B"])
        self.assertEqual(g.length(b), 0)

    def test_missing_label_is_empty_string(self):
        [a] = tables(("A", answer((ALICE, 1), ({"account_id": "1"}, 2))))
        self.assertEqual(rows(a)[1]["user"], "")


class MergeInGrafana(unittest.TestCase):
    """@grafana/data's merge, on the frames our queries give."""

    def test_selectors_keep_name_and_show_each_user_once_per_query(self):
        # The bug of plain selectors: __name__ differs, so each user appears
        # once per query.
        got, _ = shown(table_panel(MERGE), tables(
            ("A", answer(({**ALICE, "__name__": "aws_iam_user_mfa_active"}, 1),
                         ({**BOB, "__name__": "aws_iam_user_mfa_active"}, 0))),
            ("B", answer(({**ALICE, "__name__": "aws_iam_user_password_enabled"}, 1),
                         ({**BOB, "__name__": "aws_iam_user_password_enabled"}, 1)))))
        self.assertEqual(sorted(r["user"] for r in got), ["alice", "alice", "bob", "bob"])

    def test_aggregated_queries_join_into_one_row_per_key(self):
        got, _ = shown(table_panel(MERGE), tables(("A", answer((ALICE, 1), (BOB, 0))),
                                                  ("B", answer((ALICE, 1), (BOB, 1)))))
        self.assertEqual([(r["user"], r["Value #A"], r["Value #B"]) for r in got],
                         [("alice", "1", "1"), ("bob", "0", "1")])

    def test_merge_is_an_outer_join(self):
        got, _ = shown(table_panel(MERGE), tables(("A", answer((ALICE, 1))),
                                                  ("B", answer((BOB, 2)))))
        self.assertEqual([(r["user"], r["Value #A"], r["Value #B"]) for r in got],
                         [("alice", "1", ""), ("bob", "", "2")])

    def test_lookup_labels_of_one_query_join_rows_of_the_others(self):
        got, _ = shown(table_panel(MERGE), tables(
            ("A", answer((ALICE, 1), (BOB, 2))),
            ("B", answer(({**ALICE, "last_used_service": "s3"}, 1)))))
        self.assertEqual([(r["user"], r["last_used_service"]) for r in got],
                         [("alice", "s3"), ("bob", "")])

    def test_an_empty_query_still_lets_rows_join(self):
        got, _ = shown(table_panel(MERGE), tables(("A", answer((ALICE, 1), (BOB, 2))),
                                                  ("B", answer((BOB, 3))), ("C", [])))
        self.assertEqual([(r["user"], r["Value #A"], r["Value #B"]) for r in got],
                         [("alice", "1", ""), ("bob", "2", "3")])

    def test_organize_includes_orders_and_renames(self):
        _, view = shown(table_panel(MERGE + [{"id": "organize", "options": {
            "excludeByName": {"Time": True},
            "includeByName": {"user": True, "Value #B": True, "Value #A": True},
            "indexByName": {"user": 0, "Value #B": 1, "Value #A": 2},
            "renameByName": {"user": "User", "Value #B": "B"},
        }}]), tables(("A", answer((ALICE, 1))), ("B", answer((ALICE, 2)))))
        self.assertEqual(view["columns"], ["User", "B", "Value #A"])


class Variables(unittest.TestCase):
    def test_all_is_dot_star_and_values_are_escaped(self):
        self.assertEqual(g.interpolate('a=~"$account"', {"account": ["$__all"]}), 'a=~".*"')
        self.assertEqual(g.interpolate('u=~"$user"', {"user": ["a.b", "c+d"]}),
                         r'u=~"(a\\.b|c\\+d)"')
        self.assertEqual(g.interpolate('u="${user}"', {"user": "a.b"}), 'u="a.b"')
        with self.assertRaises(KeyError):
            g.interpolate("$nope", {})


class CellsInGrafana(unittest.TestCase):
    def test_mapping_wins_over_thresholds_and_links_use_the_row(self):
        override = {"matcher": {"id": "byName", "options": "Value"}, "properties": [
            {"id": "mappings", "value": [{"type": "value", "options": {
                "0": {"text": "no", "color": "red"}}}]},
            {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                {"value": None, "color": "green"}]}},
            {"id": "custom.cellOptions", "value": {"type": "color-background"}},
            {"id": "links", "value": [{"title": "x", "url":
                                        "/d/x?a=${__data.fields.account_id}&v=${__value.raw}"}]}]}
        _, view = shown(table_panel([], [override]), tables(("A", answer((ALICE, 0), (BOB, 1)))))
        cells = [r["Value"] for r in view["rows"]]
        self.assertEqual([(c["text"], c["color"]) for c in cells], [("no", "red"), ("1", "green")])
        self.assertEqual(cells[0]["links"], ["/d/x?a=1&v=0"])

    def test_stat_shows_nothing_without_data(self):
        panel = {"type": "stat", "title": "s", "options": {"reduceOptions": {
            "calcs": ["lastNotNull"], "fields": "", "values": False}},
            "fieldConfig": {"defaults": {"noValue": "0"}, "overrides": []}}
        [empty, one] = g.grafana_data([{"panel": panel, "frames": g.series_frames("A", [])},
                                       {"panel": panel, "frames": g.series_frames(
                                           "A", answer(({}, 3)))}])
        self.assertEqual(empty["values"], [])
        self.assertEqual([v["value"] for v in one["values"]], [3])


if __name__ == "__main__":
    unittest.main()
