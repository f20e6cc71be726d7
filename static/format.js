// format.js: how the page writes prices, changes, volumes and times, and
// the colours of a rise and a fall, shared by the board and the chart.

export const priceFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const signedFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' });
export const volumeFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
export const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
export const minuteFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
export const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

export const price = (v) => (v > 0 ? priceFmt.format(v) : '—');
export const signed = (v) => signedFmt.format(v);
export const percentText = (v) => signedFmt.format(v) + '%';
export const directionClass = (v) => (v > 0 ? 'up' : v < 0 ? 'down' : '');

export const riseColor = '#3fd68b';
export const fallColor = '#ff7070';
