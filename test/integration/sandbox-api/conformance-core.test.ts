import { coreSemanticsSuite } from '../../conformance/suites/core-semantics.js';

coreSemanticsSuite();
