#!/usr/bin/env node
// The `perennial` bin: runs scripts/cli.ts through tsx's CommonJS hook (tsx is a dependency).
'use strict';
require('tsx/cjs');
require('./cli.ts');
