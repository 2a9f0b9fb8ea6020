from foodcls import bench


def test_quick_benchmark_writes_its_table_and_json(tiny_weights, tmp_path):
    bench.main(["--quick", "--weights", str(tiny_weights), "--out", str(tmp_path)])
    table = (tmp_path / "bench.md").read_text()
    assert "| ShallowNet |" in table and "| DeepNet10 |" in table
    result = (tmp_path / "bench.json").read_text()
    assert '"speedup_vs_naive"' in result and '"matmul_gflops"' in result


def test_mac_count_of_shallownet_matches_the_hand_count():
    from foodcls import models

    model = models.build_model("shallownet", 10)
    # conv1: 60x60x6 outputs x 75; conv2: 26x26x16 x 150; fc: 2704x120 + 120x84 + 84x10
    expected = 60 * 60 * 6 * 75 + 26 * 26 * 16 * 150 + 2704 * 120 + 120 * 84 + 84 * 10
    assert bench.count_macs(model, 64) == expected
