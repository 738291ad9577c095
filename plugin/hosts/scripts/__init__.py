"""Host-side script templates, copied into each host's folders by ``maskvat-foley install``.
They are text to install, not modules to import here (they import host modules)."""
