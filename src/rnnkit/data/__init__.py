"""Data tools for recurrent models: windows, scalers, splits, vocabularies, padding,
bucketing, synthetic tasks, CSV/text loaders and MFCC features.

One concept per module; everything is numpy-only except the CSV loader (pandas,
extra ``rnnkit[data]``), which imports pandas only when called.
"""
from rnnkit.data.audio import mfcc
from rnnkit.data.bucketing import BucketBatchSampler, bucket_batches
from rnnkit.data.csv_loader import CsvSeries, load_csv_series, numeric_columns
from rnnkit.data.padding import pad_sequences
from rnnkit.data.scaling import MinMaxScaler, StandardScaler, scaler_from_dict
from rnnkit.data.splits import Split, chronological_split, split_sizes
from rnnkit.data.synthetic import (ADDING_BASELINE_MSE, adding_problem, as_generator,
                                   copy_memory, copy_memory_baseline)
from rnnkit.data.text_loader import load_lines, load_text
from rnnkit.data.vocab import BOS, EOS, PAD, UNK, Vocab, tokenize
from rnnkit.data.window_norm import WindowNorm, window_norm_from_dict
from rnnkit.data.lazy import WindowDataset, csv_to_npy, open_npy
from rnnkit.data.windows import make_windows, n_windows, windows_from_csv

__all__ = [
    "mfcc", "BucketBatchSampler", "bucket_batches", "CsvSeries", "load_csv_series",
    "numeric_columns", "pad_sequences", "MinMaxScaler", "StandardScaler", "scaler_from_dict", "Split",
    "chronological_split", "split_sizes", "ADDING_BASELINE_MSE", "adding_problem",
    "as_generator", "copy_memory", "copy_memory_baseline", "load_lines", "load_text",
    "BOS", "EOS", "PAD", "UNK", "Vocab", "tokenize", "make_windows", "n_windows",
    "windows_from_csv", "WindowNorm", "window_norm_from_dict",
    "WindowDataset", "csv_to_npy", "open_npy",
]
