// The photo is shrunk in the browser before it is sent: the model reads the centre square at 64 px,
// so a phone's 12 MP photo (3-5 MB) goes as a JPEG of at most SIDE px (~0.2 MB), turned as the
// photo's EXIF says and without its metadata (place, camera). Over a 1.5 Mbit/s uplink that is the
// difference between ~20 s and ~1 s (tests/test_browser.py measures it; docs/performance.md).
// A photo the browser cannot decode (HEIC on most browsers) goes as it is; the server reads it.
(side, quality, sending) => {
  const shrink = async (file) => {
    const bitmap = await createImageBitmap(file, {imageOrientation: 'from-image'});
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.type === 'image/jpeg') return file;  // small enough already
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((done) => canvas.toBlob(done, 'image/jpeg', quality));
    return blob ? new File([blob], file.name.replace(/\.[^.]*$/, '') + '.jpg', {type: 'image/jpeg'}) : file;
  };
  const status = () => {
    let line = document.getElementById('photo-status');
    if (!line) {
      line = document.createElement('p');
      line.id = 'photo-status';
      line.setAttribute('role', 'status');
      document.getElementById('photo')?.after(line);
    }
    return line;
  };
  // Capture phase on the document: runs before Gradio's own listener on the file input, which then
  // sees only the shrunk photo (dispatched again, marked so that it passes).
  document.addEventListener('change', async (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== 'file' || !input.closest('#photo')) return;
    if (input.dataset.shrunk) { delete input.dataset.shrunk; return; }
    const file = input.files && input.files[0];
    if (!file) return;
    event.stopImmediatePropagation();
    let sent = file;
    try { sent = await shrink(file); } catch (error) { /* not decodable here: the server decides */ }
    const lang = window.foodclsLang || 'en';
    status().textContent = sending[lang].replace('{kb}', Math.max(1, Math.round(sent.size / 1024)));
    const files = new DataTransfer();
    files.items.add(sent);
    input.files = files.files;
    input.dataset.shrunk = '1';
    input.dispatchEvent(new Event('change', {bubbles: true}));
  }, true);
  window.foodclsPhotoSent = () => { const line = document.getElementById('photo-status'); if (line) line.textContent = ''; };
}
