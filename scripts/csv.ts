// The calibration CSVs (RFC 4180) read into records keyed by the header's column names.

/** RFC 4180 CSV as rows of fields: quoted fields may hold commas, doubled quotes and newlines;
 * LF, CRLF or CR ends a record. */
export function parseCsvRecords(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else {
      field += char;
    }
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records;
}

/** RFC 4180 CSV as records keyed by the header's column names. */
export function parseCsv(text: string): Record<string, string>[] {
  const [header, ...body] = parseCsvRecords(text);
  return body.map((values) => Object.fromEntries(header.map((name, i) => [name, values[i]])));
}
