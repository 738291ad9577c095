"""Host-side script templates, copied into each host's folders by ``maskvat-foley install``.
They are text to install, not modules to import here (they import host modules); the one
exception is the Blender add-on's standard-library modules (``blender_addon.config``, ``.engine``,
``.strips``, ``.project``), which import without Blender so the tests can drive them."""
