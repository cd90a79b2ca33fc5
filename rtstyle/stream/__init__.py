"""The frame-stream core shared by ``convert`` and the window: sources, two schedulers, sinks.

``source -> stylizer -> sink`` (see docs/ARCHITECTURE.md):

- sources: :mod:`.spec` parses what the user names (``camera:N``, a file, a URL, ``-``);
  :mod:`.sources` opens it for the ordered scheduler, :mod:`.live_sources` for the live one;
- schedulers: :mod:`.ordered` keeps every frame in order with bounded queues (files, pipes, a
  camera recording), :mod:`.newest` always stylizes the newest frame and drops the rest (the
  window), fed by :mod:`.capture` through a :mod:`.slot`;
- sinks: :mod:`.sinks` (encoded video to a file or standard output), :mod:`.recorder` and
  :mod:`.vcam` (live sinks of the window, beside its view).

Nothing here imports Qt: ``gui/`` keeps the widgets and binds them to this core.
"""
