"""numpy MFCC: mel scale, filterbank, framing, DCT, shapes."""
import numpy as np
import pytest

from rnnkit.data.audio import (_dct_matrix, frame_signal, hz_to_mel, mel_filterbank, mel_to_hz,
                               mfcc, trim_silence)


def test_mel_scale_reference_points():
    assert abs(hz_to_mel(1000.0) - 1000.0) < 0.1      # the HTK scale maps 1 kHz to ~1000 mel
    np.testing.assert_allclose(mel_to_hz(hz_to_mel([0.0, 440.0, 8000.0])), [0, 440, 8000])


def test_filterbank_shape_and_peaks():
    fb = mel_filterbank(10, 512, 16000)
    assert fb.shape == (10, 257)
    assert (fb >= 0).all() and (fb <= 1).all()
    peaks = fb.argmax(axis=1)
    assert (np.diff(peaks) > 0).all()                  # bands ordered by frequency


def test_frame_signal_hand_computed():
    f = frame_signal(np.arange(7.0), frame_length=4, hop_length=2)
    np.testing.assert_array_equal(f, [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 0]])


def test_dct_is_orthonormal():
    d = _dct_matrix(8, 8)
    np.testing.assert_allclose(d.T @ d, np.eye(8), atol=1e-12)


def test_mfcc_shape_and_gain_moves_only_c0():
    sr = 16000
    noise = np.random.default_rng(0).normal(size=sr)   # broadband: no band hits the log floor
    loud = mfcc(noise, sr)
    quiet = mfcc(0.01 * noise, sr)
    assert loud.shape == (1 + int(np.ceil((sr - 400) / 160)), 13)
    # a 40 dB quieter signal lowers c0 (log energy) and leaves the shape (c1..) unchanged
    assert loud[:, 0].mean() > quiet[:, 0].mean() + 10
    np.testing.assert_allclose(loud[:, 1:], quiet[:, 1:], atol=1e-6)


def test_trim_silence():
    x = np.concatenate([np.zeros(1000), np.ones(512), np.zeros(1000)])
    y = trim_silence(x, frame_length=256)
    assert 512 <= len(y) <= 1024 and y.sum() == 512


def test_bad_arguments():
    with pytest.raises(ValueError, match="signal"):
        mfcc(np.zeros((2, 2)), 16000)
    with pytest.raises(ValueError, match="sample_rate"):
        mfcc(np.zeros(100), 0)
    with pytest.raises(ValueError, match="n_mfcc"):
        mfcc(np.zeros(1000), 16000, n_mfcc=30)
