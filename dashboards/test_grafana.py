"""Unit tests of dashboards/grafana.py against cases from Grafana's own
semantics (run by tests/dashboards.rs; standard library only):

    python3 -m unittest discover -s dashboards -p 'test_*.py'
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
    names = [g.display_name(f) for f in frame["fields"]]
    return [dict(zip(names, values)) for values in zip(*(f["values"] for f in frame["fields"]))]


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


class Merge(unittest.TestCase):
    def test_selectors_keep_name_and_rows_do_not_join(self):
        # The bug of plain selectors: __name__ differs, so each user appears
        # once per query.
        merged = g.merge(tables(
            ("A", answer(({**ALICE, "__name__": "aws_iam_user_mfa_active"}, 1),
                         ({**BOB, "__name__": "aws_iam_user_mfa_active"}, 0))),
            ("B", answer(({**ALICE, "__name__": "aws_iam_user_password_enabled"}, 1),
                         ({**BOB, "__name__": "aws_iam_user_password_enabled"}, 1)))))
        self.assertEqual(len(rows(merged[0])), 4)

    def test_aggregated_queries_join_into_one_row_per_key(self):
        merged = g.merge(tables(("A", answer((ALICE, 1), (BOB, 0))),
                                ("B", answer((ALICE, 1), (BOB, 1)))))
        got = rows(merged[0])
        self.assertEqual(len(got), 2)
        self.assertEqual(got[0], {"Time": 1700000000000, "account_id": "1", "user": "alice",
                                  "Value #A": 1.0, "Value #B": 1.0})

    def test_merge_is_an_outer_join(self):
        merged = g.merge(tables(("A", answer((ALICE, 1))), ("B", answer((BOB, 2)))))
        got = rows(merged[0])
        self.assertEqual([(r["user"], r["Value #A"], r["Value #B"]) for r in got],
                         [("alice", 1.0, None), ("bob", None, 2.0)])

    def test_lookup_labels_of_one_query_join_rows_of_the_others(self):
        merged = g.merge(tables(
            ("A", answer((ALICE, 1), (BOB, 2))),
            ("B", answer(({**ALICE, "last_used_service": "s3"}, 1)))))
        got = rows(merged[0])
        self.assertEqual(len(got), 2)
        self.assertEqual(got[0]["last_used_service"], "s3")
        self.assertEqual(got[1]["last_used_service"], None)

    def test_an_empty_query_reduces_the_key_to_time_and_rows_still_join(self):
        merged = g.merge(tables(("A", answer((ALICE, 1), (BOB, 2))),
                                ("B", answer((BOB, 3))), ("C", [])))
        got = rows(merged[0])
        self.assertEqual([(r["user"], r["Value #A"], r["Value #B"]) for r in got],
                         [("alice", 1.0, None), ("bob", 2.0, 3.0)])


class Organize(unittest.TestCase):
    def test_include_exclude_order_rename(self):
        [merged] = g.merge(tables(("A", answer((ALICE, 1))), ("B", answer((ALICE, 2)))))
        [out] = g.organize([merged], {
            "excludeByName": {"Time": True},
            "includeByName": {"user": True, "Value #B": True, "Value #A": True},
            "indexByName": {"user": 0, "Value #B": 1, "Value #A": 2},
            "renameByName": {"user": "User", "Value #B": "B"},
        })
        self.assertEqual([g.display_name(f) for f in out["fields"]], ["User", "B", "Value #A"])
        self.assertEqual(out["fields"][0]["name"], "user", "rename keeps the name")


class Variables(unittest.TestCase):
    def test_all_is_dot_star_and_values_are_escaped(self):
        self.assertEqual(g.interpolate('a=~"$account"', {"account": ["$__all"]}), 'a=~".*"')
        self.assertEqual(g.interpolate('u=~"$user"', {"user": ["a.b", "c+d"]}),
                         r'u=~"(a\\.b|c\\+d)"')
        self.assertEqual(g.interpolate('u="${user}"', {"user": "a.b"}), 'u="a.b"')
        with self.assertRaises(KeyError):
            g.interpolate("$nope", {})


class Cells(unittest.TestCase):
    def test_mapping_wins_over_thresholds(self):
        config = {"mappings": [{"type": "value", "options": {"0": {"text": "no", "color": "red"}}}],
                  "thresholds": {"steps": [{"value": None, "color": "green"}]}}
        self.assertEqual(g.cell(0.0, config), {"text": "no", "color": "red"})
        self.assertEqual(g.cell(1.0, config), {"text": "1", "color": "green"})

    def test_data_link_fields_by_name_or_display_name(self):
        f = g.frame("A", [g.field("account_id", "string", ["42"], config={"displayName": "Account"}),
                          g.field("user", "string", ["alice"])])
        self.assertEqual(g.link_url("/d/x?a=${__data.fields.account_id}&u=${__value.raw}", f, 0,
                                    "alice"), "/d/x?a=42&u=alice")
        self.assertEqual(g.link_url("${__data.fields.Account}", f, 0, None), "42")


if __name__ == "__main__":
    unittest.main()
