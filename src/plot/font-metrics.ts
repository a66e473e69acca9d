// Advance widths of DejaVu Sans (the bundled font, assets/fonts/DejaVuSans.ttf), for laying out text
// without a font engine: legends, margins and centring are computed from these, in any JS runtime.

/** Advances of the characters ' ' (32) to '~' (126), in 1/1000 em (read from the font's hmtx table). */
const ASCII_ADVANCE = [
  318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636,
  636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863,
  748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635,
  615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636,
  337, 636, 838,
];

/** Advances of a few non-ASCII characters used in figure text (Greek letters, minus sign, superscripts). */
const EXTRA_ADVANCE: Readonly<Record<string, number>> = {
  σ: 634,
  μ: 636,
  λ: 592,
  '²': 401,
  '³': 401,
  '−': 838,
  '×': 838,
  '·': 318,
  '–': 500,
  '—': 1000,
  '°': 500,
  '±': 838,
  '≈': 838,
  '≤': 838,
  '≥': 838,
  α: 659,
  β: 638,
  γ: 592,
  δ: 612,
  ε: 541,
  θ: 612,
  π: 602,
  '…': 1000,
};

/** Width in pixels of `text` set in DejaVu Sans at `fontSize` pixels (no kerning; unknown characters 0.6 em). */
export function textWidth(text: string, fontSize: number): number {
  let units = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    units += code >= 32 && code < 127 ? ASCII_ADVANCE[code - 32]! : (EXTRA_ADVANCE[ch] ?? 600);
  }
  return (units / 1000) * fontSize;
}

/** Height of capital letters and digits above the baseline, as a fraction of the font size (DejaVu Sans: 0.729). */
export const CAP_HEIGHT = 0.729;
