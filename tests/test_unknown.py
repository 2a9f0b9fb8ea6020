"""Unknown dishes: the scores, the served rule, and the app and `evaluate` naming the same photos."""

import copy
import shutil

import pytest
import torch
from helpers import COLOURS, ROOT, SHARED_DATA, colour_photo, dish_photo

from foodcls import evaluate, features, hub, models, nutrition, openset, predict, runs, service, unknown
from foodcls.store import RunStore

CLASSES = ["bibimbap", "ramen", "sushi"]


def test_cosine_to_means_is_the_nearest_class_mean_averaged_over_the_members():
    means = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])  # 2 members, 2 classes
    feats = torch.tensor([[[2.0, 0.0], [1.0, 1.0]], [[0.0, 3.0], [1.0, 1.0]]])  # 2 photos
    scores = unknown.cosine_to_means(feats, means)
    torch.testing.assert_close(scores, torch.tensor([1.0, 2**-0.5]))


def test_feature_scores_put_a_photo_between_the_classes_below_the_photos_of_a_class():
    torch.manual_seed(0)
    centres = torch.eye(8)[:3] * 5
    labels = torch.arange(3).repeat(50)
    train = (centres[labels] + 0.3 * torch.randn(150, 8)).unsqueeze(0)
    means = unknown.class_means(train, labels, 3)
    known = (centres[:2] + 0.3 * torch.randn(2, 8)).unsqueeze(0)
    between = torch.full((1, 1, 8), 0.0) + torch.tensor([2.5, 2.5, 2.5, 0, 0, 0, 0, 0])
    feats = torch.cat([known, between], 1)
    whitening = unknown.tied_whitening(train, labels, means)
    for score in (
        unknown.cosine_to_means(feats, means),
        unknown.mahalanobis(feats, means, whitening),
        unknown.knn_similarity(feats, train, k=5),
    ):
        assert score[2] < score[:2].min()


def test_energy_and_max_softmax_rank_a_flat_photo_below_a_peaked_one():
    logits = torch.tensor([[8.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    assert unknown.energy(logits)[1] < unknown.energy(logits)[0]
    assert unknown.max_softmax(logits)[1] < unknown.max_softmax(logits)[0]


def test_the_rule_names_only_above_both_thresholds_and_says_when_a_photo_looks_unknown():
    config = {"unknown_rule": {"score": unknown.RULE_SCORE, "min_similarity": 0.6}}
    assert unknown.named(0.9, 0.7, 0.5, config) and not unknown.looks_unknown(0.7, config)
    assert not unknown.named(0.9, 0.5, 0.5, config) and unknown.looks_unknown(0.5, config)
    assert not unknown.named(0.4, 0.7, 0.5, config) and not unknown.looks_unknown(0.7, config)  # unsure, not unknown
    assert unknown.named(0.9, None, 0.5, {}) and not unknown.looks_unknown(None, {})


def test_class_folds_hold_every_class_out_once_with_the_asian_dishes_spread():
    classes = [f"dish{i}" for i in range(85)] + list(openset.ASIAN)
    folds = openset.class_folds(classes)
    assert sorted(c for fold in folds for c in fold) == sorted(classes)
    assert [sum(c in openset.ASIAN for c in fold) for fold in folds] == [4, 3, 3, 3, 3]


def test_matched_coverage_names_the_share_of_known_photos_and_counts_the_rest():
    score = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.85, 0.1])
    known = torch.tensor([True, True, True, True, False, False])
    right = torch.tensor([True, False, True, True, False, False])
    threshold = openset.coverage_threshold(score[known], 0.5)
    found = openset.counts(score >= threshold, known, right, {"unseen": ~known})
    assert found == {"known": 4, "named": 2, "named_right": 1, "unseen": 2, "unseen_named": 1}


@pytest.fixture(scope="module")
def ruled_weights(tmp_path_factory):
    """A weights/ folder with an untrained 2-member EfficientNet-Lite0 ensemble on three dishes whose
    config has an unknown-dish rule, its threshold 0 so that only the rule keeps photos unnamed."""
    torch.manual_seed(0)
    ensemble = models.build_model("efficientnet_lite0", 3, members=2).eval()
    for norm in (m for m in ensemble.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        norm.running_var.fill_(0.5)
    config = {
        "model_id": "efficientnet_lite0",
        "name": "EfficientNet-Lite0",
        "classes": CLASSES,
        "input_size": 64,
        "mean": [0.5] * 3,
        "std": [0.5] * 3,
        "tta_flip": True,
        "members": 2,
        "threshold": 0.0,
        "unknown_rule": {"score": unknown.RULE_SCORE, "min_similarity": 0.0},
    }
    photos = tmp_path_factory.mktemp("photos")
    for index, dish in enumerate(CLASSES + ["_korean_other"]):
        (photos / dish).mkdir()
        for i in range(3):
            rgb = list(COLOURS.values())[(index + i) % 3]
            colour_photo(rgb, seed=index * 10 + i, size=80 + 20 * i).save(photos / dish / f"{i}.png")
    classifier = predict.Classifier(ensemble, config)
    similarities = sorted(
        classifier.look(evaluate.service.read_photo(path)).similarity for path in photos.rglob("*.png")
    )
    config["unknown_rule"]["min_similarity"] = similarities[len(similarities) // 2]  # half look unknown
    out = tmp_path_factory.mktemp("weights")
    runs.save_run(out / "ruled", runs.half_precision(ensemble.state_dict()), config, [], {})
    hub.write_manifest(out)
    return out, photos


def test_a_served_similarity_is_the_one_the_study_computes_from_the_members_features(ruled_weights):
    weights, photos = ruled_weights
    classifier = predict.load_classifier(weights / "ruled")
    photo = service.read_photo(next(photos.rglob("*.png")))
    look = classifier.look(photo)
    square = features.photo_square(classifier, photo).unsqueeze(0)
    pooled = features.served_features(classifier, square)
    expected = unknown.cosine_to_means(pooled, features.classifier_weights(classifier)).item()
    assert look.similarity == pytest.approx(expected, abs=1e-4)
    torch.testing.assert_close(look.logits, features.member_logits(classifier, pooled).mean(0)[0], atol=1e-4, rtol=0)


def test_the_app_and_evaluate_name_the_same_photos_under_the_rule(ruled_weights):
    weights, photos = ruled_weights
    store = RunStore(hub.WeightsSource(None, "unused", bundled=weights), known_runs=["ruled"])
    table = nutrition.NutritionTable.load()
    served = evaluate.score_photo_folder(weights / "ruled", photos)["served"]
    named, looked_unknown = [], []
    for path in sorted(photos.rglob("*.png")):
        result = service.classify(store=store, table=table, photo=service.read_photo(path), model_id="ruled")
        relative = f"{path.parent.name}/{path.name}"
        if result.named:
            named.append(relative)
        if result.looks_unknown:
            looked_unknown.append(relative)
            assert not result.named and result.nutrition is None
    assert sorted(served["named_photos"]) == named and sorted(served["unknown_photos"]) == looked_unknown
    assert 0 < len(looked_unknown) < 12  # the rule, not the threshold of 0, keeps some unnamed


REAL_PHOTOS = SHARED_DATA / "realworld-dev"
DEPLOYED = ROOT / "weights" / runs.DEPLOYED_RUN


@pytest.fixture(scope="module")
def real_photos_and_ruled_deployed_run(tmp_path_factory):
    """Three real photos each of three known dishes, of _korean_other and of _not_food, and a copy of
    the deployed run whose threshold and unknown-dish rule are the medians of these photos' top
    probability and similarity, so that each part of the rule keeps some of them unnamed."""
    if not (REAL_PHOTOS.is_dir() and (DEPLOYED / "config.json").is_file()):
        pytest.skip("no realworld-dev photos or no deployed run")
    photos = tmp_path_factory.mktemp("real")
    for folder in ("bibimbap", "ramen", "sushi", "_korean_other", "_not_food"):
        (photos / folder).mkdir()
        for path in sorted((REAL_PHOTOS / folder).iterdir())[:3]:
            shutil.copy(path, photos / folder / path.name)
    weights = tmp_path_factory.mktemp("weights")
    shutil.copytree(DEPLOYED, weights / runs.DEPLOYED_RUN)
    config = runs.read_json(DEPLOYED / "config.json") | {
        "unknown_rule": {"score": unknown.RULE_SCORE, "min_similarity": -1.0}
    }
    config.pop(runs.WITHOUT_BF16, None)  # one way on every CPU: the medians below are of that way
    classifier = predict.Classifier(runs.load_run(DEPLOYED)[0], config)
    looks = [classifier.look(service.read_photo(path)) for path in photos.rglob("*.*")]
    probabilities = sorted((look.logits / config["temperature"]).softmax(0).max().item() for look in looks)
    similarities = sorted(look.similarity for look in looks)
    config["threshold"] = round(probabilities[len(looks) // 2], 4)
    config["unknown_rule"]["min_similarity"] = round(similarities[len(looks) // 2], 4)
    runs.write_json(weights / runs.DEPLOYED_RUN / "config.json", runs.validate_config(config))
    hub.write_manifest(weights)
    return weights, photos


def test_the_app_and_evaluate_name_the_same_real_photos_with_the_deployed_run(real_photos_and_ruled_deployed_run):
    weights, photos = real_photos_and_ruled_deployed_run
    store = RunStore(hub.WeightsSource(None, "unused", bundled=weights), known_runs=[runs.DEPLOYED_RUN])
    table = nutrition.NutritionTable.load()
    served = evaluate.score_photo_folder(weights / runs.DEPLOYED_RUN, photos)["served"]
    named, looked_unknown, sure = [], [], []
    for path in sorted(photos.rglob("*.*")):
        photo = service.read_photo(path)
        result = service.classify(store=store, table=table, photo=photo, model_id=runs.DEPLOYED_RUN)
        relative = f"{path.parent.name}/{path.name}"
        named += [relative] if result.named else []
        looked_unknown += [relative] if result.looks_unknown else []
        sure += [relative] if result.best.probability >= result.threshold else []
    assert served["known"] == 9 and served["outside"] == 6
    assert sorted(served["named_photos"]) == named and sorted(served["unknown_photos"]) == looked_unknown
    assert named and set(named) < set(sure)  # the rule, not only the threshold, keeps some unnamed


def test_a_config_with_a_broken_unknown_rule_is_refused():
    config = runs.read_json(hub.BUNDLED_WEIGHTS / runs.DEPLOYED_RUN / "config.json")
    for rule in ({"score": "energy", "min_similarity": 0.5}, {"score": unknown.RULE_SCORE, "min_similarity": 2}):
        with pytest.raises(runs.InvalidConfig, match="unknown_rule"):
            runs.validate_config(copy.deepcopy(config) | {"unknown_rule": rule})
    with pytest.raises(runs.InvalidConfig, match="unknown_rule"):
        shallow = runs.read_json(hub.BUNDLED_WEIGHTS / "shallownet" / "config.json")
        runs.validate_config(shallow | {"unknown_rule": {"score": unknown.RULE_SCORE, "min_similarity": 0.5}})


def test_a_run_without_a_rule_serves_as_before(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    table = nutrition.NutritionTable.load()
    result = service.classify(store=store, table=table, photo=dish_photo("ramen"), model_id="shallownet", threshold=0.0)
    assert result.named and not result.looks_unknown
