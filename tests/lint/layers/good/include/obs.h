/* fixture: a core header the engine may use */
