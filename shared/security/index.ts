export { normalizeForScreening } from './normalizeForScreening';
export { INPUT_SCREENING_MODES, MAX_SCREENED_CHARS, screenInput, type InputScreeningMode, type ScreenInputOptions } from './screenInput';
