"""MFCC features in plain numpy (used to build the ``spoken_digits`` dataset).

Pipeline (the classic one of Davis & Mermelstein 1980, with the HTK conventions of
Young et al., *The HTK Book*, ch. 5.4):

    signal (S,) -> pre-emphasis -> frames (T, frame_length) * Hamming window
      -> |rFFT|^2 / n_fft  (T, n_fft//2+1)  -> mel filterbank (T, n_mels)
      -> log -> DCT-II (orthonormal) -> first n_mfcc coefficients (T, n_mfcc)

No librosa/scipy dependency: the filterbank and the DCT matrix are built here.
"""
from __future__ import annotations

import numpy as np

__all__ = ["hz_to_mel", "mel_to_hz", "mel_filterbank", "frame_signal", "mfcc",
           "trim_silence"]


def hz_to_mel(hz):
    """HTK mel scale: ``2595 * log10(1 + f / 700)``; works on scalars and arrays."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: float,
                   fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular filters equally spaced on the mel scale.

    Returns an array of shape ``(n_mels, n_fft // 2 + 1)``; row m is the weight of each
    FFT bin in band m (peak 1 at the band centre, 0 at the neighbouring centres).
    """
    if not isinstance(n_mels, (int, np.integer)) or n_mels < 1:
        raise ValueError(f"n_mels: expected a positive int, got {n_mels!r}")
    fmax = sample_rate / 2.0 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sample_rate / 2.0:
        raise ValueError(f"fmin/fmax: expected 0 <= fmin < fmax <= sample_rate/2 "
                         f"({sample_rate / 2.0}), got fmin={fmin!r}, fmax={fmax!r}")
    # n_mels + 2 edge points: band m spans edges[m] .. edges[m + 2], peak at edges[m + 1].
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)          # (n_fft//2+1,)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lo) / (mid - lo)
    falling = (hi - bins[None, :]) / (hi - mid)
    return np.clip(np.minimum(rising, falling), 0.0, None)      # (n_mels, n_fft//2+1)


def frame_signal(signal: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Cut a 1-D signal (S,) into overlapping frames (T, frame_length).

    The tail is zero-padded so that every sample lands in at least one frame;
    T = 1 + ceil(max(S - frame_length, 0) / hop_length).
    """
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(f"signal: expected a 1-D array, got shape {signal.shape}")
    if frame_length < 1 or hop_length < 1:
        raise ValueError(f"frame_length/hop_length: expected positive ints, got "
                         f"{frame_length!r}/{hop_length!r}")
    n_frames = 1 + int(np.ceil(max(signal.size - frame_length, 0) / hop_length))
    padded = np.zeros((n_frames - 1) * hop_length + frame_length)
    padded[:signal.size] = signal
    idx = np.arange(frame_length)[None, :] + hop_length * np.arange(n_frames)[:, None]
    return padded[idx]


def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II matrix (n_in, n_out): ``y = x @ D`` equals scipy's dct(norm='ortho')."""
    n = np.arange(n_in)[:, None]
    k = np.arange(n_out)[None, :]
    d = np.cos(np.pi * k * (2 * n + 1) / (2.0 * n_in)) * np.sqrt(2.0 / n_in)
    d[:, 0] /= np.sqrt(2.0)
    return d


def mfcc(signal: np.ndarray, sample_rate: float, n_mfcc: int = 13, n_mels: int = 26,
         frame_length: int | None = None, hop_length: int | None = None,
         n_fft: int | None = None, preemphasis: float = 0.97) -> np.ndarray:
    """Mel-frequency cepstral coefficients of a mono signal.

    Parameters
    ----------
    signal : array (S,) of floats (any scale).
    sample_rate : samples per second.
    n_mfcc : number of cepstral coefficients kept (c0 included, it tracks log energy).
    n_mels : number of mel bands.
    frame_length, hop_length : in samples; default 25 ms and 10 ms (HTK defaults).
    n_fft : FFT size, default the next power of two >= frame_length.
    preemphasis : first-order high-pass ``x[t] - a * x[t-1]`` (0 disables).

    Returns
    -------
    array (T, n_mfcc), float64, T as in :func:`frame_signal`.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate: expected a positive number, got {sample_rate!r}")
    if not 1 <= n_mfcc <= n_mels:
        raise ValueError(f"n_mfcc: expected 1 <= n_mfcc <= n_mels ({n_mels}), got {n_mfcc!r}")
    frame_length = int(round(0.025 * sample_rate)) if frame_length is None else frame_length
    hop_length = int(round(0.010 * sample_rate)) if hop_length is None else hop_length
    n_fft = 1 << int(np.ceil(np.log2(frame_length))) if n_fft is None else n_fft
    if n_fft < frame_length:
        raise ValueError(f"n_fft: expected >= frame_length ({frame_length}), got {n_fft!r}")
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"signal: expected a non-empty 1-D array, got shape {x.shape}")
    if preemphasis:
        x = np.append(x[0], x[1:] - preemphasis * x[:-1])
    frames = frame_signal(x, frame_length, hop_length) * np.hamming(frame_length)
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2 / n_fft   # (T, n_fft//2+1)
    mel = power @ mel_filterbank(n_mels, n_fft, sample_rate).T          # (T, n_mels)
    log_mel = np.log(np.maximum(mel, 1e-10))  # floor avoids log(0) on digital silence
    return log_mel @ _dct_matrix(n_mels, n_mfcc)                        # (T, n_mfcc)


def trim_silence(signal: np.ndarray, frame_length: int = 256, top_db: float = 40.0) -> np.ndarray:
    """Drop leading/trailing blocks whose energy is more than ``top_db`` below the loudest.

    Blocks are non-overlapping, ``frame_length`` samples long; returns a view of the
    kept span (S',).  An all-zero signal is returned unchanged.
    """
    x = np.asarray(signal)
    if x.ndim != 1:
        raise ValueError(f"signal: expected a 1-D array, got shape {x.shape}")
    n = int(np.ceil(x.size / frame_length))
    if n == 0:
        return x
    padded = np.zeros(n * frame_length)
    padded[:x.size] = x
    energy = (padded.reshape(n, frame_length) ** 2).mean(axis=1)
    if energy.max() <= 0:
        return x
    keep = np.flatnonzero(10 * np.log10(np.maximum(energy, 1e-20) / energy.max()) > -top_db)
    return x[keep[0] * frame_length:min((keep[-1] + 1) * frame_length, x.size)]
