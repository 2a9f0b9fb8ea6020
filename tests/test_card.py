from foodcls import card, runs


def test_model_card_table_is_read_from_the_runs(tiny_weights):
    text = card.build_card(tiny_weights)
    top1 = runs.read_json(tiny_weights / "shallownet" / "metrics.json")["top1"]
    assert f"| {top1:.1%} |" in text
    assert text.startswith("---\nlibrary_name: pytorch")
