from rnnkit.util.machine import cpu_model


def test_cpu_model_reads_the_model_name_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Example CPU 9000 @ 3.0GHz\nflags\t: sse\n")
    assert cpu_model(str(info)) == "Example CPU 9000 @ 3.0GHz"


def test_cpu_model_without_cpuinfo_falls_back_to_platform(tmp_path):
    import platform
    assert cpu_model(str(tmp_path / "missing")) == (platform.processor() or platform.machine())
