"""End-to-end tests in a real headless Chromium with no internet: what a person sees."""
