"""Evaluation harnesses that run OS1's real code paths on public benchmarks."""
