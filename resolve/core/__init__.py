"""The bottom layer every app may import: refusals, the clock, typed settings. It imports no app."""
