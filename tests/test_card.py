from foodcls import card, runs


def test_model_card_table_is_read_from_the_runs(tiny_weights):
    text = card.build_card(tiny_weights)
    top1 = runs.read_json(tiny_weights / "shallownet" / "metrics.json")["top1"]
    assert f"| {top1:.1%} |" in text
    assert text.startswith("---\nlibrary_name: pytorch")


def test_card_names_the_hardest_dishes_and_most_frequent_confusions():
    metrics = {
        "n": 30,
        "classes": ["pho", "ramen", "sushi"],
        "confusion": [[8, 2, 0], [6, 4, 0], [0, 1, 9]],  # rows: true dish, columns: named first
    }
    text = card.errors_section("run", metrics, count=2)
    assert "ramen 4/10, pho 8/10." in text  # the two hardest, worst first
    assert "ramen → pho: 6, pho → ramen: 2." in text
    assert "sushi → ramen" not in text  # one photo: below the two most frequent


def test_card_lists_the_real_photo_dishes_named_wrong_most_often():
    text = card.hardest_real_dishes(
        {
            "pho": {"right": 20, "photos": 31},
            "ramen": {"right": 4, "photos": 10},
            "sushi": {"right": 9, "photos": 9},
        },
        count=2,
    )
    assert text.endswith("ramen 4 of 10, pho 20 of 31.\n")
    assert card.hardest_real_dishes({}) == ""


def test_card_says_what_an_ensemble_run_averages_member_by_member():
    member = {"best_epoch": 10, "train_seconds": 5520, "val_top1": 0.637}
    config = {
        "name": "EfficientNet-Lite0",
        "members": 2,
        "train_input_size": 128,
        "best_val_acc": 0.661,
        "member_runs": [
            member | {"recipe_settings": {"frozen_blocks": 3}},
            member | {"recipe_settings": {"frozen_blocks": 2}, "val_top1": 0.642},
        ],
    }
    text = card.ensemble_note("food101", config)
    assert "averages the logits of 2 EfficientNet-Lite0 runs" in text
    assert "3 frozen stages, 10 epochs, 92 min, validation top-1 63.7%; 2 frozen stages" in text
    assert "64.2%); together 66.1% on validation at 128 px" in text
    whole = config | {"member_runs": [member | {"recipe_settings": {"epochs": 30}}] * 2}
    assert "runs trained apart (10 epochs, 92 min, validation top-1 63.7%; 10 epochs" in card.ensemble_note("a", whole)


def test_card_says_how_a_run_sees_a_real_photo_stored_as_its_training_photos_were():
    config = {
        "train_input_size": 128,
        "source_size": 64,
        "input_size": 128,
        "tta_zooms": [1.0],
        "real_photos_by_way": {"128 px, views 1": {"top1": "203 of 306", "named": "114 of 306"}},
    }
    plain = card.serving_note("run", config)
    assert "shrunk to 64 px and its views (100% of the square's side" in plain and "JPEG" not in plain
    assert "128 px, views 1: 203 of 306 right first, 114 of 306 named within the bounds" in plain
    stored = card.serving_note("run", config | {"source_jpeg": {"quality": 75, "subsampling": "4:2:0"}})
    assert "shrunk to 64 px, saved and read back as a JPEG of quality 75 with colour sampled 4:2:0," in stored


def test_card_says_which_way_a_run_serves_where_bfloat16_is_not_native_and_what_it_costs():
    row = {"val": 100, "real_known": 30, "temperature": 0.8, "threshold": 0.7, "outside": 9}
    own = row | {"way": "views 1 + 0.65 × flip (4 images)", "val_top1": 60, "real_top1": 20}
    own |= {"named": 15, "named_right": 14, "outside_named": 1}
    cheaper = row | {"way": "views 1 (1 image)", "val_top1": 60, "real_top1": 21, "threshold": 0.75}
    cheaper |= {"named": 13, "named_right": 12, "outside_named": 0}
    calibration = {
        runs.WITHOUT_BF16: {
            "chosen": "views 1 (1 image)",
            "max_top1_cost": 0.005,
            "tried": [cheaper, own],
            "test_top1": {"views 1 (1 image)": 61, "views 1 + 0.65 × flip (4 images)": 62},
            "test": 100,
        }
    }
    text = card.without_bf16_note("run", {"threshold": 0.7}, calibration)
    assert "`run` serves views 1 (1 image) instead of its views 1 + 0.65 × flip (4 images)" in text
    assert "way: test top-1 61 of 100, validation 60 of 100, real photos 21 of 30 right first" in text
    assert "on these real photos, 75%, 13 named (12 right) with 0 of 9 others; its own way: test top-1 62" in text
    assert text.endswith("70%, 15 named (14 right) with 1 of 9 others.")
    assert "it serves 80%" in card.without_bf16_note("run", {"threshold": 0.8}, calibration)
