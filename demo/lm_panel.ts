/** The language-model panel's DOM: steps, progress bar, loss curve (chart.ts), final loss and a sample. */
import {lossChartSvg} from './chart';
import {errorText, lossText} from './format';
import {trainLanguageModel} from './lm_training';
import {$, esc} from './view';

export interface PanelHooks {
  backend: () => string;
  setBusy: (on: boolean) => void;
  setState: (state: string) => void;
  clearErrors: () => void;
  showError: (message: string) => void;
}

export async function runLmPanel(page: PanelHooks): Promise<void> {
  const steps = Math.round(Number($<HTMLInputElement>('lm-steps').value));
  if (!(steps >= 2 && steps <= 2000)) return void page.showError(`language-model steps must be 2..2000, got ${$<HTMLInputElement>('lm-steps').value}`);
  page.clearErrors();
  page.setBusy(true);
  page.setState('running');
  const bar = $<HTMLProgressElement>('lm-progress'), text = $('lm-status'), losses: number[] = [];
  bar.hidden = false;
  bar.max = steps;
  bar.value = 0;
  $('lm-result').innerHTML = '';
  $('lm-chart').innerHTML = lossChartSvg(losses, steps);
  try {
    const run = await trainLanguageModel(steps, async (step, loss) => {
      losses.push(loss);
      bar.value = step + 1;
      text.textContent = `step ${step + 1}/${steps} on ${page.backend()} · loss ${loss.toFixed(3)}`;
      $('lm-chart').innerHTML = lossChartSvg(losses, steps);
      await new Promise(resolve => setTimeout(resolve, 0));   // let the page paint the step
    });
    text.textContent = `trained ${steps} steps on ${run.backend} in ${(run.ms / 1000).toFixed(1)} s`;
    $('lm-result').innerHTML = `<p class="verdict">final loss <b data-testid="lm-final-loss">${lossText(run.finalLoss)}</b> ` +
        `(step 1: ${lossText(run.losses[0])}; a uniform guess scores ln(vocabulary size))</p>` +
        `<p>sample: <code data-testid="lm-sample">${esc(run.sample)}</code></p>`;
    window.__demoLm = run;
    page.setState('done');
  } catch (e) {
    page.showError(`language model on ${page.backend()}: ${errorText(e)}`);
    text.textContent = 'training failed (the error is above)';
    window.__demoLm = {backend: page.backend(), steps, losses, error: errorText(e)};
    page.setState('error');
  } finally {
    bar.hidden = true;
    page.setBusy(false);
  }
}
